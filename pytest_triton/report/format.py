"""Numbers and verdicts as people read them, shared by the terminal table and the Markdown page."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from pytest_triton.baselines.verdict import Comparison, Verdict

VERDICT_LABELS = {
    Verdict.OK: "ok",
    Verdict.WITHIN_NOISE: "within noise",
    Verdict.REGRESSION: "REGRESSION",
    Verdict.IMPROVEMENT: "improved: --update-baselines",
    Verdict.MISSING: "missing",
    Verdict.NOT_APPLIED: "not applied: other weights",
}


def change_text(comparison: Comparison) -> str:
    if comparison.change is None:
        return "-"
    return f"{comparison.change:+.1%}"


def verdict_text(comparison: Comparison) -> str:
    label = VERDICT_LABELS[comparison.verdict]
    if comparison.verdict in (Verdict.MISSING, Verdict.NOT_APPLIED) and comparison.failed:
        return f"{label.upper()} (strict)"
    if (
        comparison.verdict is Verdict.WITHIN_NOISE
        and comparison.change is not None
        and comparison.noise_bound is not None
    ):
        # Either the windows' scatter covers the change, or a second measurement did not repeat it.
        covered = abs(comparison.change) <= comparison.noise_bound
        return f"{label} (up to {comparison.noise_bound:.0%})" if covered else f"{label} (not repeated)"
    return label


def counts_text(comparisons: Iterable[Comparison]) -> str:
    """'3 ok, 1 regression, 2 missing' in verdict order; 'no comparisons' when empty."""
    counts: dict[Verdict, int] = {}
    for comparison in comparisons:
        counts[comparison.verdict] = counts.get(comparison.verdict, 0) + 1
    parts = [f"{counts[v]} {v.value.replace('_', ' ')}" for v in Verdict if v in counts]
    return ", ".join(parts) or "no comparisons"


def _natural(text: str) -> tuple[object, ...]:
    # c2 before c16, as people count.
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def display_order(comparisons: Iterable[Comparison]) -> list[Comparison]:
    """Failures first, then by config and metric in natural order."""
    return sorted(comparisons, key=lambda c: (not c.failed, _natural(c.config), _natural(c.metric)))


def fixed_width(header: Sequence[str], rows: Sequence[Sequence[str]], aligns: Sequence[str]) -> list[str]:
    """A header, a rule and the rows in columns as wide as their widest cell; `aligns`: "<" or ">" per column."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, aligns, widths)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]
