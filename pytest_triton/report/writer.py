"""The report directory: report.json (everything, machine-readable), summary.md, and the PNG plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from pytest_triton.baselines.verdict import Comparison
from pytest_triton.perf.results import Measurement
from pytest_triton.report.against import AgainstRecord, against_markdown
from pytest_triton.report.document import document_text, report_document
from pytest_triton.report.markdown import markdown_summary
from pytest_triton.report.plots import (
    plot_against_baseline,
    plot_latency_breakdown,
    plot_latency_throughput,
    plot_side_by_side,
)


@dataclass(frozen=True)
class ReportFiles:
    json: Path
    markdown: Path
    plots: tuple[Path, ...]


def write_report(
    directory: Path,
    measurements: Mapping[str, Sequence[Measurement]],
    comparisons: Sequence[Comparison] = (),
    *,
    title: str = "pytest-triton performance",
    metadata: Mapping[str, Any] | None = None,
    against: Sequence[AgainstRecord] = (),
) -> ReportFiles:
    """`measurements`: config id -> its sweep (one Measurement per load point). `metadata`: what the run was
    (hardware key, software versions, settings), shown on top of the summary and stored in the JSON."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    if any(measurements.values()):
        series = {config: list(sweep) for config, sweep in measurements.items() if sweep}
        plots.append(plot_latency_throughput(series, directory / "latency_vs_throughput.png", comparisons))
        plots.append(plot_latency_breakdown(series, directory / "latency_breakdown.png"))
    if any(c.change is not None for c in comparisons):
        plots.append(plot_against_baseline(comparisons, directory / "against_baseline.png"))
    if against:
        plots.append(plot_side_by_side(against, directory / "side_by_side.png"))
    document = report_document(
        measurements,
        comparisons,
        title=title,
        metadata=metadata,
        plots=[p.name for p in plots],
        against=[record.to_dict() for record in against],
    )
    json_path = directory / "report.json"
    json_path.write_text(document_text(document), encoding="utf-8")
    markdown_path = directory / "summary.md"
    markdown = markdown_summary(title, measurements, comparisons, [p.name for p in plots], metadata)
    markdown_path.write_text(
        "\n".join([markdown.rstrip("\n"), "", *against_markdown(against)]).rstrip() + "\n", encoding="utf-8"
    )
    return ReportFiles(json_path, markdown_path, tuple(plots))
