"""A run's report as one JSON document: what report.json holds, what --triton-history keeps and what
`python -m pytest_triton.report.compare` reads back. Imports no plotting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from pytest_triton.baselines.verdict import Comparison
from pytest_triton.errors import TritonPluginError
from pytest_triton.perf.results import Measurement
from pytest_triton.report.format import counts_text

REPORT_VERSION = 1


class ReportFileError(TritonPluginError):
    """A report file that cannot be read back: missing, not JSON, or not a report; the message names it."""


def report_document(
    measurements: Mapping[str, Sequence[Measurement]],
    comparisons: Sequence[Comparison] = (),
    *,
    title: str = "pytest-triton performance",
    metadata: Mapping[str, Any] | None = None,
    plots: Sequence[str] = (),
    against: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """`measurements`: config id -> its sweep (one Measurement per load point). `against`: the side-by-side
    verdicts against a baseline deployment (report.against's records, as dicts)."""
    return {
        "report_version": REPORT_VERSION,
        "title": title,
        "metadata": dict(metadata or {}),
        "summary": counts_text(comparisons),
        "failed": [c.message for c in comparisons if c.failed],
        "measurements": {config: [m.to_dict() for m in sweep] for config, sweep in measurements.items()},
        "comparisons": [c.to_dict() for c in comparisons],
        "plots": list(plots),
        "against": [dict(record) for record in against],
    }


def document_text(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"


def read_measurements(path: Path) -> dict[str, list[Measurement]]:
    """config id -> its sweep, from a report.json (or a report directory holding one)."""
    file = path / "report.json" if path.is_dir() else path
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReportFileError(f"cannot read report {file}: {error.strerror or error}") from None
    except ValueError as error:
        raise ReportFileError(f"report {file} is not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("report_version") != REPORT_VERSION:
        raise ReportFileError(
            f"{file} is not a pytest-triton report of version {REPORT_VERSION} "
            "(written by --triton-report or --triton-history)"
        )
    try:
        return {config: [Measurement.from_dict(m) for m in sweep] for config, sweep in document["measurements"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ReportFileError(f"report {file} has a malformed measurement ({type(error).__name__}: {error})") from None
