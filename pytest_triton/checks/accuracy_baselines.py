"""Accuracy figures (EM/F1, top-1/top-5) as baseline entries, and their judgement against the stored ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.entry import BaselineEntry
from pytest_triton.baselines.verdict import Comparison, compare_entries
from pytest_triton.export.fingerprint import WEIGHTS_DIGITS

# Deterministic figures of one model's weights: no noise, and a 0.5% relative tolerance for a changed runtime.
TOLERANCE = 0.005


def accuracy_entries(percentages: Mapping[str, float], weights: str | None) -> dict[str, BaselineEntry]:
    """Metric -> entry, for figures in % (higher is better) of the model with the weights digest `weights`
    (None where nobody here has the model's weights: a served model known only by its name)."""
    return {
        metric: BaselineEntry(
            value=value,
            unit="%",
            direction="higher",
            tolerance=TOLERANCE,
            noise=0.0,
            weights=weights[:WEIGHTS_DIGITS] if weights else None,
        )
        for metric, value in percentages.items()
    }


def judged(entries: Mapping[str, Mapping[str, BaselineEntry]], baselines: BaselineContext) -> list[Comparison]:
    """Each configuration's entries against its stored baseline; none where this run updates them."""
    if baselines.update:
        return []
    comparisons = [
        comparison
        for config, metrics in entries.items()
        for comparison in compare_entries(config, metrics, baselines.baseline(), strict=baselines.strict)
    ]
    return baselines.explained(comparisons)


def points_apart(
    name: str,
    served: object,
    reference: object,
    metrics: tuple[str, ...],
    points: float,
    against: str = "in-process",
) -> list[str]:
    """Each metric (an attribute in %) of `served` more than `points` from `reference`'s (the in-process model's,
    or the baseline deployment's on the same data)."""
    problems = []
    for metric in metrics:
        delta = getattr(served, metric) - getattr(reference, metric)
        if abs(delta) > points:
            problems.append(f"{name}: {metric} {delta:+.2f} points from {against} (tolerance {points})")
    return problems


@dataclass(frozen=True)
class JudgedAccuracy:
    """What an accuracy check found: its baseline entries (by baseline id, then metric), their verdicts, and every
    problem (differences from in-process, regressions)."""

    entries: dict[str, dict[str, BaselineEntry]]
    comparisons: list[Comparison]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        return "\n".join(self.problems)
