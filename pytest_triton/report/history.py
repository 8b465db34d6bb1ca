"""--triton-history=DIR: every run's report kept as DIR/<UTC time>-<hardware>.json, for later comparison."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.atomic_write import write_text_atomic
from pytest_triton.report.document import document_text


def keep_report(document: Mapping[str, Any], directory: Path, scope: str, now: datetime | None = None) -> Path:
    """Write `document` into `directory` under a name that sorts by time; never over an earlier report."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", scope)  # a fleet's scope is a list of hosts
    path = directory / f"{stamp}-{name}.json"
    count = 1
    while path.exists():  # two runs within one second
        count += 1
        path = directory / f"{stamp}.{count}-{name}.json"  # "." sorts after "-": still in time order
    write_text_atomic(path, document_text(document))
    return path


def kept_reports(directory: Path) -> list[Path]:
    """The reports kept in `directory`, oldest first."""
    return sorted(directory.glob("*.json")) if directory.is_dir() else []
