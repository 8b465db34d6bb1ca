"""One configuration's sweep: concurrency 1, 2, 4, ... until a latency constraint is crossed, throughput stops
growing, a request fails or an answer is wrong (as Model Analyzer sweeps perf_analyzer's concurrency)."""

from __future__ import annotations

from typing import Callable, Sequence

from pytest_triton.perf.limits import Limit
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.results import Measurement
from pytest_triton.search.objective import latency_bound

# A doubling of the concurrency that gains less than this share of throughput has found the configuration's
# plateau: on the 2-core CI machine, bert-tiny gains nothing past concurrency 4.
MIN_GAIN = 0.05


def concurrency_of(point: Measurement) -> int:
    return point.load.requests if isinstance(point.load, Concurrency) else 0


def faults(point: Measurement) -> list[str]:
    """What no constraint forgives in a load point: failed requests, wrong answers."""
    at = f"at concurrency {concurrency_of(point)}"
    found = []
    if point.errors:
        found.append(f"{point.errors} requests failed {at}: {point.first_error}")
    if point.answers_wrong:
        found.append(
            f"{point.answers_wrong} of {point.answers_checked} answers checked under load {at} were wrong; "
            f"the first: {point.first_wrong}"
        )
    return found


def sweep(
    measure_at: Callable[[int], Measurement],
    max_concurrency: int,
    constraints: Sequence[Limit],
    config: str,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[list[Measurement], str, str]:
    """The load points measured; the problem that stopped the sweep ("" where it stopped on latency, plateau or
    `max_concurrency`): failed requests or wrong answers, which no constraint can forgive; and the latency limit
    that stopped it ("" where none did)."""
    latency = [limit for limit in latency_bound(constraints) if limit.applies_to(config)]
    points: list[Measurement] = []
    best = 0.0
    concurrency = 1
    while concurrency <= max_concurrency:
        point = measure_at(concurrency)
        points.append(point)
        progress(
            f"  {config} concurrency {concurrency}: {point.throughput:.1f} inf/s, "
            f"p99 {point.latency.p99_us / 1000:.2f} ms"
        )
        problems = faults(point)
        if problems:
            return points, "; ".join(problems), ""
        broken = [limit.text for limit in latency if limit.broken_by(point)]
        if broken:
            return points, "", broken[0]
        if point.throughput < best * (1 + MIN_GAIN):
            break
        best = point.throughput
        concurrency *= 2
    return points, "", ""
