"""The bundle's manifest: what built it, and a sha256 and a size per file, checked before anything is installed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pytest_triton.errors import BundleError

MANIFEST = "manifest.json"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(root: Path, facts: dict[str, Any]) -> dict[str, Any]:
    """Lists every file under `root` with `facts` (the target Python, the versions carried) beside them."""
    files = {name: {"sha256": file_digest(root / name), "bytes": (root / name).stat().st_size} for name in _files(root)}
    manifest = {**facts, "files": files}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check_manifest(root: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is there unchanged and nothing else is; else BundleError naming them."""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
        listed: dict[str, dict[str, Any]] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BundleError(
            f"{root}: no readable {MANIFEST} ({error}); build the bundle again with ./dev bundle"
        ) from None
    present = set(_files(root))
    missing = sorted(set(listed) - present)
    unlisted = sorted(present - set(listed))
    changed = sorted(
        name
        for name in set(listed) & present
        if (root / name).stat().st_size != listed[name]["bytes"] or file_digest(root / name) != listed[name]["sha256"]
    )
    problems = [
        f"{label}: {', '.join(names)}"
        for label, names in (("missing", missing), ("changed", changed), ("not in the manifest", unlisted))
        if names
    ]
    if problems:
        raise BundleError(
            f"{root} is not the bundle its manifest describes ({'; '.join(problems)}); copy it again whole, or "
            "build it again with ./dev bundle"
        )
    return manifest
