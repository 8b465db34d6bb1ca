"""The config search: the best serving configuration of a model under a latency budget and other constraints,
found by brute force or hill climbing, checkpointed, and written out as a model repository with a report.

Import from the modules (search.run, search.plan, search.output, ...)."""
