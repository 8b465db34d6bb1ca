"""What a side-by-side measurement decided (perf.side_by_side): each figure's ratio of candidate to baseline with its
interval and outcome, per load point. Light, so that the end-of-run summary reads them back without the load
generator's imports."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping


class Outcome(str, Enum):
    SAME = "same"
    REGRESSED = "regressed"
    IMPROVED = "improved"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Figure:
    """A figure compared side by side: its name, unit, which way is better and the tolerance within which a change
    counts as none."""

    name: str
    unit: str
    higher_is_better: bool
    tolerance: float


# On the 2-core CI machine bert-tiny's throughput ratio had a standard error of about 2.5% after 20 s (40 pairs): at
# 5%, an unchanged deployment's estimate lands beyond the tolerance in about 2% of points at most, where the interval
# must also exclude no change. p99 is the slowest 1% of a few thousand requests: a hypervisor's stall moves it more.
FIGURES: tuple[Figure, ...] = (
    Figure("throughput", "infer/s", True, 0.05),
    Figure("p50", "ms", False, 0.05),
    Figure("p99", "ms", False, 0.20),
)


@dataclass(frozen=True)
class Ratio:
    """A figure's candidate/baseline ratio over the pooled slices, with its interval and verdict."""

    figure: str
    candidate: float
    baseline: float
    ratio: float
    low: float
    high: float
    tolerance: float
    outcome: Outcome

    def to_dict(self) -> dict[str, object]:
        return {**{k: v for k, v in self.__dict__.items() if k != "outcome"}, "outcome": self.outcome.value}

    @staticmethod
    def from_dict(data: Mapping[str, object]) -> "Ratio":
        return Ratio(**{**data, "outcome": Outcome(data["outcome"])})  # type: ignore[arg-type]


def outcome_of(
    ratio: float, low: float, high: float, figure: Figure, within: tuple[float, float] | None = None
) -> Outcome:
    """Pinpoint's three outcomes from a ratio (candidate/baseline) and its CONFIDENCE interval (`low`, `high`), which
    a regression or an improvement must lie wholly beyond no change in; `within`: the EQUIVALENCE interval, which
    must lie within the tolerance for the same (default: the other)."""
    same_low, same_high = within or (low, high)
    if 1 - figure.tolerance <= min(same_low, 1 / same_high) and max(same_high, 1 / same_low) <= 1 + figure.tolerance:
        return Outcome.SAME
    worse_low, worse_high = (1 / high, 1 / low) if figure.higher_is_better else (low, high)
    worse = 1 / ratio if figure.higher_is_better else ratio  # above 1: the candidate is worse
    if worse_low > 1 and worse > 1 + figure.tolerance:
        return Outcome.REGRESSED
    if worse_high < 1 and worse < 1 - figure.tolerance:
        return Outcome.IMPROVED
    return Outcome.INCONCLUSIVE


@dataclass(frozen=True)
class SideBySide:
    """One load point's verdict against the baseline deployment: each figure's ratio, the slice pairs it took, the
    seconds they took, and whether the budget ran out before every figure was decided."""

    point: str
    ratios: tuple[Ratio, ...]
    pairs: int
    rounds: int
    seconds: float
    budget_spent: bool

    @property
    def outcome(self) -> Outcome:
        """Regressed where any figure regressed; else inconclusive where any is; else improved where any improved."""
        outcomes = {r.outcome for r in self.ratios}
        for worst in (Outcome.REGRESSED, Outcome.INCONCLUSIVE, Outcome.IMPROVED):
            if worst in outcomes:
                return worst
        return Outcome.SAME

    def ratio(self, figure: str) -> Ratio:
        return next(r for r in self.ratios if r.figure == figure)

    def confirmed_by(self, again: "SideBySide") -> "SideBySide":
        """`again`, a second measurement taken because this one found a regression, in which a figure stays
        regressed only where this one found it regressed too; elsewhere a regression of `again` alone is
        inconclusive. Both measurements' pairs, rounds and seconds count."""
        regressed = {r.figure for r in self.ratios if r.outcome is Outcome.REGRESSED}
        ratios = tuple(
            dataclasses.replace(r, outcome=Outcome.INCONCLUSIVE)
            if r.outcome is Outcome.REGRESSED and r.figure not in regressed
            else r
            for r in again.ratios
        )
        return dataclasses.replace(
            again,
            ratios=ratios,
            pairs=self.pairs + again.pairs,
            rounds=self.rounds + again.rounds,
            seconds=self.seconds + again.seconds,
        )

    def line(self) -> str:
        """Each figure's ratio with its interval and verdict, in a line."""
        return (
            "; ".join(f"{r.figure} {r.ratio:.3f}x [{r.low:.3f}, {r.high:.3f}] {r.outcome.value}" for r in self.ratios)
            + f" ({self.pairs} slice pairs)"
        )

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "ratios": [r.to_dict() for r in self.ratios]}

    @staticmethod
    def from_dict(data: Mapping[str, object]) -> "SideBySide":
        ratios = tuple(Ratio.from_dict(r) for r in data["ratios"])  # type: ignore[attr-defined]
        return SideBySide(**{**data, "ratios": ratios})  # type: ignore[arg-type]


@dataclass(frozen=True)
class AgainstPoint:
    """A load point's verdict side by side, and each side's slice throughputs (inferences/s) in the order taken."""

    verdict: SideBySide
    candidate: tuple[float, ...]
    baseline: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict.to_dict(), "candidate": list(self.candidate), "baseline": list(self.baseline)}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "AgainstPoint":
        return AgainstPoint(SideBySide.from_dict(data["verdict"]), tuple(data["candidate"]), tuple(data["baseline"]))
