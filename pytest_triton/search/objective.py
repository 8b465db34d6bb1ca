"""What a search maximises and what a configuration must keep: the objective (throughput, a latency, memory, or a
weighted mix) and the constraints (perf.limits syntax: "p99<=20ms,throughput>=100/s,server_memory<=2GiB").

A weighted objective scores each load point by the weighted mean of its figures relative to the best one measured
(higher-better figures as value/best, lower-better as best/value), so that weights are shares of the objective
whatever the units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pytest_triton.perf.limits import Limit
from pytest_triton.perf.results import Measurement

# Objective name -> (what it reads, whether higher is better).
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "throughput": ("throughput", True),
    "avg": ("latency_avg", False),
    **{f"p{p}": (f"latency_p{p}", False) for p in (50, 90, 95, 99)},
    # The GPUs' memory from the metrics endpoint where the server has GPUs, else its processes' resident memory.
    "memory": ("memory", False),
}


@dataclass(frozen=True)
class Objective:
    weights: tuple[tuple[str, float], ...]  # objective name -> weight, names from OBJECTIVES

    @property
    def text(self) -> str:
        if len(self.weights) == 1:
            return self.weights[0][0]
        return ",".join(f"{name}={weight:g}" for name, weight in self.weights)

    def scores(self, points: Sequence[Measurement]) -> list[float]:
        """Each point's score among `points`, 0 to 1 (1: best at every weighted figure). A figure a point lacks
        (memory of a server elsewhere) scores 0."""
        total = sum(weight for _, weight in self.weights)
        scores = [0.0] * len(points)
        for name, weight in self.weights:
            metric, higher = OBJECTIVES[name]
            values = [figure(point, metric) for point in points]
            known = [v for v in values if v is not None and v > 0]
            if not known:
                continue
            best = max(known) if higher else min(known)
            for index, value in enumerate(values):
                if value is not None and value > 0:
                    scores[index] += weight / total * (value / best if higher else best / value)
        return scores


def figure(point: Measurement, metric: str) -> float | None:
    """A load point's figure by OBJECTIVES metric name ("memory" as described there)."""
    if metric == "memory":
        gpu = point.value("gpu_memory")
        return gpu if gpu is not None else point.value("server_rss")
    return point.value(metric)


def parse_objective(text: str) -> Objective:
    """ "throughput", "p99", "memory", or weights "throughput=2,p99=1"; ValueError naming the valid choices."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, weight_text = part.strip().partition("=")
        name = name.strip()
        if name not in OBJECTIVES:
            raise ValueError(f"unknown objective {name!r}; valid choices: {', '.join(OBJECTIVES)} (or NAME=WEIGHT,...)")
        try:
            weight = float(weight_text) if sep else 1.0
        except ValueError:
            weight = -1.0
        if not 0 < weight < float("inf"):
            raise ValueError(f"the weight of {name} must be a positive number, not {weight_text!r}")
        if name in weights:
            raise ValueError(f"{name} is weighted twice")
        weights[name] = weight
    return Objective(tuple(weights.items()))


def latency_bound(constraints: Sequence[Limit]) -> list[Limit]:
    """The constraints on latency: more concurrency only raises latency, so a sweep stops at the first point that
    breaks one."""
    return [limit for limit in constraints if limit.metric.startswith("latency_")]


def violation(limit: Limit, point: Measurement) -> float | None:
    """How far `point` is beyond `limit`, relative to the limit (0.25: 25% past it); None where it keeps it or
    has no such figure."""
    if limit.broken_by(point) is None:
        return None
    measured = point.value(limit.metric)
    if measured is None:
        return None
    return abs(measured - limit.value) / limit.value if limit.value else float("inf")
