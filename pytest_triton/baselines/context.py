"""One suite's baselines for one run: where they are, which key, and whether to record or to judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile, BaselineKey
from pytest_triton.baselines.store import BaselineStore


@dataclass
class BaselineContext:
    store: BaselineStore
    key: BaselineKey
    software: Mapping[str, str | None]
    hardware: Mapping[str, Any] | None = None  # facts behind a hardware scope, recorded with the entries
    update: bool = False
    strict: bool = False
    _loaded: BaselineFile | None = field(default=None, init=False, repr=False)
    _read: bool = field(default=False, init=False, repr=False)

    def baseline(self) -> BaselineFile | None:
        """The stored file, read once per run (BaselineFileError if it is invalid)."""
        if not self._read:
            self._loaded, self._read = self.store.load(self.key), True
        return self._loaded

    def record(self, entries: Mapping[str, Mapping[str, BaselineEntry]]) -> list[str]:
        """Merge `entries` (config -> metric -> entry) into the stored file, when --update-baselines asks;
        returns the configs written."""
        if not (self.update and entries):
            return []
        self.store.update(self.key, self.software, entries, self.hardware)
        return sorted(entries)

    @property
    def path(self) -> Path:
        return self.store.path(self.key)
