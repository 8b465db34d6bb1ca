"""Performance measurement: a load generator (or perf_analyzer), calibration models, typed results.

Import from the modules (perf.measure, perf.load, perf.results, ...): the package itself imports nothing, so that
building a plan from options (perf.plan) loads no client library.
"""
