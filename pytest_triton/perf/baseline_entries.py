"""A Measurement as baseline entries: the metrics a perf baseline keeps, each with its noise."""

from __future__ import annotations

from typing import Mapping, Sequence

from pytest_triton.baselines.entry import BaselineEntry
from pytest_triton.perf.results import METRICS, Measurement

# From A/A runs on a shared 2-core machine (benchmarks/regression_detection.py): throughput, average and
# median move a few % between runs, while tail percentiles of 1-2 s windows rest on a handful of requests
# and move by 15-35% with nothing changed; their tolerance is wide to match.
DEFAULT_TOLERANCES: dict[str, float] = {
    "throughput": 0.05,
    "latency_avg": 0.05,
    "latency_p50": 0.05,
    "latency_p90": 0.25,
    "latency_p95": 0.30,
    "latency_p99": 0.40,
    # Where the server runs on this machine. CPU time per inference tracks wall time on the CI machine (about 1.5
    # cores busy while a request is served, onnxruntime's spinning on or off), so it moves with the machine's load
    # nearly as much as throughput does (benchmarks/regression_detection.py); the model's own memory hardly moves.
    # Reported and limited (--triton-slo) but not kept: the whole server's memory and the GPUs' memory and power,
    # which count whatever else the run (or another job on the GPU) loaded, and the p99 bound, which under about
    # 800 requests is the slowest request itself.
    "server_cpu_us": 0.10,
    "model_rss": 0.10,
}


def measurement_entries(
    measurement: Measurement,
    metrics: Sequence[str] = tuple(DEFAULT_TOLERANCES),
    tolerances: Mapping[str, float] | None = None,
) -> dict[str, BaselineEntry]:
    """metric name -> entry, with the tolerance for newly recorded baselines and the measured noise. A server
    figure the measurement could not read (a remote server's CPU time) has no entry."""
    chosen = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    entries = {}
    for name in metrics:
        unit, direction = METRICS[name]
        value = measurement.value(name)
        if value is None:
            continue
        entries[name] = BaselineEntry(
            value=value,
            unit=unit,
            direction=direction,  # type: ignore[arg-type]
            tolerance=chosen[name],
            noise=measurement.noise(name),
        )
    return entries
