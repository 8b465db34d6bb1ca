"""The report directory: report.json (everything, machine-readable), summary.md, and the PNG plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from pytest_triton.baselines.verdict import Comparison
from pytest_triton.perf.results import Measurement
from pytest_triton.report.format import counts_text
from pytest_triton.report.markdown import markdown_summary
from pytest_triton.report.plots import plot_latency_breakdown, plot_latency_throughput

REPORT_VERSION = 1


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
) -> ReportFiles:
    """`measurements`: config id -> its sweep (one Measurement per load point). `metadata`: what the run was
    (hardware key, software versions, settings), shown on top of the summary and stored in the JSON."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    if any(measurements.values()):
        series = {config: list(sweep) for config, sweep in measurements.items() if sweep}
        plots.append(plot_latency_throughput(series, directory / "latency_vs_throughput.png"))
        plots.append(plot_latency_breakdown(series, directory / "latency_breakdown.png"))
    document = {
        "report_version": REPORT_VERSION,
        "title": title,
        "metadata": dict(metadata or {}),
        "summary": counts_text(comparisons),
        "failed": [c.message for c in comparisons if c.failed],
        "measurements": {config: [m.to_dict() for m in sweep] for config, sweep in measurements.items()},
        "comparisons": [c.to_dict() for c in comparisons],
        "plots": [p.name for p in plots],
    }
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    markdown_path = directory / "summary.md"
    markdown_path.write_text(
        markdown_summary(title, measurements, comparisons, [p.name for p in plots], metadata), encoding="utf-8"
    )
    return ReportFiles(json_path, markdown_path, tuple(plots))
