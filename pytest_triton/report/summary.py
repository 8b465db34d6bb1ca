"""The terminal summary: one row per compared metric, for pytest's terminal_summary."""

from __future__ import annotations

from typing import Sequence

from pytest_triton.baselines.verdict import Comparison, Verdict
from pytest_triton.report.format import change_text, counts_text, display_order, fixed_width, verdict_text
from pytest_triton.units import value_text

_HEADER = ("config", "metric", "baseline", "measured", "change", "verdict")


def summary_lines(
    comparisons: Sequence[Comparison],
    title: str = "performance baselines",
    recorded: int = 0,
    files: Sequence[str] = (),
) -> list[str]:
    """A count line and a fixed-width table (failures first, then by config and metric); under
    --update-baselines, how many entries (a configuration at one load, its cold start, a variant on one data set)
    were written where."""
    if not comparisons:
        if recorded:
            where = ", ".join(files) or "the baselines directory"
            entries = "entry" if recorded == 1 else "entries"
            return [f"{title}: {recorded} {entries} recorded into {where}; review the diff and commit it"]
        return [f"{title}: nothing measured"]
    ordered = display_order(comparisons)
    rows = [
        (
            c.config,
            c.metric,
            value_text(c.baseline_value, c.measured.unit),
            value_text(c.measured.value, c.measured.unit),
            change_text(c),
            verdict_text(c),
        )
        for c in ordered
    ]
    missing = sum(c.verdict is Verdict.MISSING for c in comparisons)
    record = (
        f"{title}: {missing} {'figure has' if missing == 1 else 'figures have'} no baseline yet; "
        "record them with --update-baselines, review the diff and commit it"
    )
    return [
        f"{title}: {counts_text(comparisons)}",
        # Text columns left-aligned, numbers right-aligned.
        *fixed_width(_HEADER, rows, ("<", "<", ">", ">", ">", "<")),
        *([record] if missing else []),
    ]
