"""Baseline files under a directory (the repo's baselines/): validated on every read and before every
write, updated by merge under a lock and replaced atomically, so concurrent xdist workers lose nothing
and a reader never sees half a file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from filelock import FileLock, Timeout

from pytest_triton.atomic_write import write_text_atomic
from pytest_triton.baselines.entry import BaselineEntry, BaselineFile, BaselineKey
from pytest_triton.baselines.schema import BaselineFileError, parse, validate

LOCK_TIMEOUT_S = 120.0


def dumps(document: Any) -> str:
    """The one on-disk format: sorted keys, two-space indent, trailing newline; a diff shows only changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


class BaselineStore:
    """Files at `root/<scope>/<suite>.json`."""

    def __init__(self, root: Path, lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.root = Path(root)
        self.lock_timeout_s = lock_timeout_s

    def path(self, key: BaselineKey) -> Path:
        return self.root / key.scope / f"{key.suite}.json"

    def load(self, key: BaselineKey) -> BaselineFile | None:
        """The file for `key`, None where there is none; BaselineFileError where it is invalid."""
        return self._read(key)

    def update(
        self,
        key: BaselineKey,
        software: Mapping[str, str | None],
        entries: Mapping[str, Mapping[str, BaselineEntry]],
        hardware: Mapping[str, Any] | None = None,
    ) -> BaselineFile:
        """Merge `entries` (config -> metric -> entry) into the file and record `software` (and `hardware`, the
        facts of a hardware scope); returns what was written. An invalid existing file raises BaselineFileError
        and is left as it is."""
        return self.modify(key, lambda current: current.merged(software, entries, hardware))

    def modify(self, key: BaselineKey, change: Callable[[BaselineFile], BaselineFile]) -> BaselineFile:
        """Write `change(current file)` under the lock (an empty file where there is none), validated first."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(_lock_path(path), timeout=self.lock_timeout_s):
                updated = change(self._read(key) or BaselineFile(key))
                document = updated.to_json()
                validate(document, path, before_write=True)
                write_text_atomic(path, dumps(document))
                return updated
        except Timeout:
            raise BaselineFileError(
                f"could not lock {path} within {self.lock_timeout_s:.0f} s (lock file {_lock_path(path)}); "
                "another process holds it"
            ) from None

    def _read(self, key: BaselineKey) -> BaselineFile | None:
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        document = parse(text, path)
        validate(document, path)
        found = BaselineFile.from_json(document)
        if found.key != key:
            raise BaselineFileError(
                f"baseline file {path} says it holds scope {found.key.scope!r} / suite {found.key.suite!r}, "
                f"but its place is for {key.scope!r} / {key.suite!r}; move it back or fix those fields"
            )
        return found


def _lock_path(path: Path) -> Path:
    # Locks live outside the repository (no stray files to commit); every worker on this machine computes
    # the same name for the same baseline file, which is all xdist needs.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    directory = Path(tempfile.gettempdir()) / f"pytest-triton-locks-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"{digest}.lock"
