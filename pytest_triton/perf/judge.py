"""The verdict on one measured load point: compare with its baseline, and re-measure before calling a
regression, since machine load drifts between runs more than one run's windows reveal."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile
from pytest_triton.baselines.verdict import Comparison, Verdict, compare_entries, confirm
from pytest_triton.perf.baseline_entries import DEFAULT_TOLERANCES, measurement_entries
from pytest_triton.perf.results import Measurement


def judge(
    config: str,
    measurement: Measurement,
    baseline: BaselineFile | None,
    *,
    strict: bool = False,
    remeasure: Callable[[], Measurement] | None = None,
    metrics: Sequence[str] = tuple(DEFAULT_TOLERANCES),
    tolerances: Mapping[str, float] | None = None,
) -> list[Comparison]:
    """One Comparison per metric of `config`. Where one is a regression and `remeasure` is given, it is
    called once and only regressions the second measurement repeats are kept (baselines.confirm)."""
    again = (lambda: measurement_entries(remeasure(), metrics, tolerances)) if remeasure is not None else None
    entries = measurement_entries(measurement, metrics, tolerances)
    return judge_entries(config, entries, baseline, strict=strict, again=again)


def judge_entries(
    config: str,
    entries: Mapping[str, BaselineEntry],
    baseline: BaselineFile | None,
    *,
    strict: bool = False,
    again: Callable[[], Mapping[str, BaselineEntry]] | None = None,
) -> list[Comparison]:
    """`entries` against `baseline`; where one is a regression and `again` is given, it measures once more and only
    regressions that repeat are kept."""
    first = compare_entries(config, entries, baseline, strict=strict)
    if again is None or not any(c.verdict is Verdict.REGRESSION for c in first):
        return first
    return confirm(first, compare_entries(config, again(), baseline, strict=strict))
