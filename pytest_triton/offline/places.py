"""Directories the offline tools write whole: new or empty, so that nothing already there is mixed in or lost."""

from __future__ import annotations

from pathlib import Path

from pytest_triton.errors import BundleError


def require_empty(path: Path, named: str, why: str) -> None:
    """BundleError naming `named` where `path` is a file or a directory holding anything; `why` says why a new one."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BundleError(f"{named}: not an empty directory; give a new one {why}")
