"""perf_analyzer's stability rule: the last windows agree on throughput and latency within a percentage."""

from __future__ import annotations

from typing import Sequence


def within(values: Sequence[float], pct: float) -> bool:
    """Every value lies within ±pct % of their mean (and the mean is positive)."""
    mean = sum(values) / len(values)
    if mean <= 0:
        return False
    return all(abs(v - mean) <= mean * pct / 100.0 for v in values)


def is_stable(
    throughputs: Sequence[float],
    latencies: Sequence[float],
    pct: float,
    count: int,
    disturbed: Sequence[bool] = (),
) -> bool:
    """Whether the last `count` windows agree on both series and none of them was `disturbed` (per window, where
    known: a hypervisor took the CPU); fewer windows than `count` are never stable."""
    if len(throughputs) != len(latencies):
        raise ValueError("one throughput and one latency per window")
    if len(throughputs) < count or any(disturbed[-count:]):
        return False
    return within(throughputs[-count:], pct) and within(latencies[-count:], pct)
