"""What a search found: each configuration's sweep, and the configurations ranked by the objective within the
constraints. Constraints are applied when ranking, never when measuring (except where a sweep stops), so a
resumed search may change them without measuring again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pytest_triton.perf.limits import Limit, check_limits
from pytest_triton.perf.results import Measurement
from pytest_triton.search.objective import Objective, violation
from pytest_triton.search.space import Candidate


@dataclass(frozen=True)
class ConfigResult:
    """One configuration's sweep over concurrency. `problem`: why it is never recommended, whatever the
    constraints (it failed to load, answered wrong under load, failed requests, or its format and precision lost
    accuracy)."""

    model: str
    candidate: Candidate
    points: tuple[Measurement, ...]
    load_s: float | None = None
    problem: str = ""
    stopped_by: str = ""  # the latency limit that ended the sweep; a search without it sweeps again

    @property
    def id(self) -> str:
        return f"{self.model}-{self.candidate.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "candidate": self.candidate.to_dict(),
            "points": [point.to_dict() for point in self.points],
            "load_s": self.load_s,
            "problem": self.problem,
            "stopped_by": self.stopped_by,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "ConfigResult":
        return ConfigResult(
            data["model"],
            Candidate.from_dict(data["candidate"]),
            tuple(Measurement.from_dict(point) for point in data["points"]),
            data["load_s"],
            data["problem"],
            data.get("stopped_by", ""),
        )


@dataclass(frozen=True)
class Ranked:
    """A configuration's place: its best load point within the constraints and that point's score, or (where no
    point keeps them) the point closest to keeping them and what it broke."""

    result: ConfigResult
    point: Measurement | None
    score: float
    broken: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.broken and self.point is not None


def _broken(result: ConfigResult, point: Measurement, constraints: Sequence[Limit]) -> tuple[list[str], float]:
    messages, _ = check_limits(constraints, result.id, point)
    distance = sum(violation(limit, point) or 0.0 for limit in constraints if limit.applies_to(result.id))
    return messages, distance


def rank(results: Sequence[ConfigResult], objective: Objective, constraints: Sequence[Limit]) -> list[Ranked]:
    """Every configuration, best first: those with a point within the constraints by the score of their best such
    point; then the others, closest first (fewest constraints broken, then least far past them); then those with a
    problem."""
    keeping: list[tuple[ConfigResult, Measurement]] = []
    closest: list[tuple[int, float, Ranked]] = []
    failed: list[Ranked] = []
    for result in results:
        if result.problem or not result.points:
            failed.append(Ranked(result, None, 0.0, (result.problem or "nothing was measured",)))
            continue
        judged = [(point, *_broken(result, point, constraints)) for point in result.points]
        kept = [point for point, messages, _ in judged if not messages]
        if kept:
            keeping += [(result, point) for point in kept]
            continue
        point, messages, distance = min(judged, key=lambda j: (len(j[1]), j[2]))
        closest.append((len(messages), distance, Ranked(result, point, 0.0, tuple(messages))))
    scores = objective.scores([point for _, point in keeping])
    best: dict[str, Ranked] = {}
    for (result, point), score in zip(keeping, scores):
        if result.id not in best or score > best[result.id].score:
            best[result.id] = Ranked(result, point, score)
    ordered = sorted(best.values(), key=lambda r: -r.score)
    ordered += [ranked for _, _, ranked in sorted(closest, key=lambda c: (c[0], c[1]))]
    return ordered + failed
