"""The side-by-side verdicts against a baseline deployment (--triton-perf-against), as the results log carries them
and as the terminal summary and the Markdown page show them: a row per load point and figure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pytest_triton.perf.side_by_side_verdict import FIGURES, AgainstPoint
from pytest_triton.report.format import fixed_width
from pytest_triton.results_log import ResultsLog
from pytest_triton.units import value_text

KIND = "against"
_HEADER = ("config", "figure", "baseline", "candidate", "ratio [99% interval]", "verdict")


@dataclass(frozen=True)
class AgainstRecord:
    """One load point of one configuration against the baseline deployment at `source`."""

    config: str  # the point's id (configuration/load)
    source: str
    point: AgainstPoint

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "source": self.source, "point": self.point.to_dict()}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "AgainstRecord":
        return AgainstRecord(data["config"], data["source"], AgainstPoint.from_dict(data["point"]))


def log_against(log: ResultsLog, records: Sequence[AgainstRecord]) -> None:
    for record in records:
        log.append(KIND, record.to_dict())


def read_against(log: ResultsLog) -> list[AgainstRecord]:
    return [AgainstRecord.from_dict(record) for record in log.read(KIND)]


def _rows(records: Sequence[AgainstRecord]) -> list[tuple[str, ...]]:
    units = {figure.name: figure.unit for figure in FIGURES}
    return [
        (
            record.config,
            r.figure,
            value_text(r.baseline, units.get(r.figure, "")),
            value_text(r.candidate, units.get(r.figure, "")),
            f"{r.ratio:.3f}x [{r.low:.3f}, {r.high:.3f}]",
            r.outcome.value.upper() if r.outcome.value == "regressed" else r.outcome.value,
        )
        for record in sorted(records, key=lambda r: (r.point.verdict.outcome.value != "regressed", r.config))
        for r in record.point.verdict.ratios
    ]


def _counts(records: Sequence[AgainstRecord]) -> str:
    counted = Counter(record.point.verdict.outcome.value for record in records)
    further = sum(record.point.verdict.rounds > 1 for record in records)
    more = f"; {further} measured in further rounds" if further else ""
    spent = sum(record.point.verdict.budget_spent for record in records)
    budget = f"; {spent} inconclusive when their budget ran out" if spent else ""
    shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counted.items()))
    return f"{len(records)} load points: {shown}{more}{budget}"


def _by_source(records: Sequence[AgainstRecord]) -> dict[str, list[AgainstRecord]]:
    grouped: dict[str, list[AgainstRecord]] = {}
    for record in records:
        grouped.setdefault(record.source, []).append(record)
    return grouped


def against_lines(records: Sequence[AgainstRecord]) -> list[str]:
    """The terminal section, one per baseline deployment: a count line and a row per point and figure."""
    lines = []
    for source, group in _by_source(records).items():
        title = f"triton perf against {source}"
        lines += [f"{title}: {_counts(group)}", *fixed_width(_HEADER, _rows(group), "<<>>><")]
    return lines


def against_markdown(records: Sequence[AgainstRecord]) -> list[str]:
    """The same as Markdown, fit for a pull request's comment or $GITHUB_STEP_SUMMARY."""
    from pytest_triton.report.markdown import markdown_table

    lines = []
    for source, group in _by_source(records).items():
        lines += [f"## triton perf against {source}", "", f"**{_counts(group)}**", ""]
        lines += markdown_table(_HEADER, _rows(group)) + [""]
    return lines
