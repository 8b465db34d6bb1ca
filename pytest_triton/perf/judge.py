"""The verdict on one measured load point: compare with its baseline, and re-measure before calling a
regression, since machine load drifts between runs more than one run's windows reveal."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from pytest_triton.baselines.entry import BaselineFile
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
    first = compare_entries(config, measurement_entries(measurement, metrics, tolerances), baseline, strict=strict)
    if remeasure is None or not any(c.verdict is Verdict.REGRESSION for c in first):
        return first
    again = compare_entries(config, measurement_entries(remeasure(), metrics, tolerances), baseline, strict=strict)
    return confirm(first, again)
