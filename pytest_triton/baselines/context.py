"""One suite's baselines for one run (where they are, which key, whether to record or to judge), and the contexts
of a whole run: perf keyed by hardware, accuracy by nothing but the model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile, BaselineKey
from pytest_triton.baselines.hardware import hardware_facts
from pytest_triton.baselines.software import software_changes, software_versions
from pytest_triton.baselines.store import BaselineStore
from pytest_triton.baselines.verdict import Comparison, Verdict

PERF = "perf"
ACCURACY = "accuracy"
SEARCH = "search"  # the config search's recommendations, with their figures
HARDWARE_SUITES = (PERF, SEARCH)  # filed by hardware, as speed is


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

    def record(
        self, entries: Mapping[str, Mapping[str, BaselineEntry]], replacing: Callable[[str], bool] | None = None
    ) -> list[str]:
        """Merge `entries` (config -> metric -> entry) into the stored file when this run updates baselines, first
        dropping the stored configs `replacing` says these replace; returns the configs written."""
        if not (self.update and entries):
            return []
        if replacing is None:
            self.store.update(self.key, self.software, entries, self.hardware)
        else:
            self.store.modify(
                self.key,
                lambda current: current.without(replacing).merged(self.software, entries, self.hardware),
            )
        return sorted(entries)

    @property
    def path(self) -> Path:
        return self.store.path(self.key)

    def stack_changes(self) -> str:
        """What differs between the stored baseline's software stack and this run's, e.g. "triton 2.50.0 -> 2.51.0";
        empty when nothing known differs or nothing is stored."""
        stored = self.baseline()
        if stored is None:
            return ""
        changes = software_changes(stored.software, self.software)
        return ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changes.items())

    def explained(self, comparisons: Sequence[Comparison]) -> list[Comparison]:
        """Regressions and improvements that say what changed in the stack, where something did."""
        changes = self.stack_changes()
        if not changes:
            return list(comparisons)
        moved = (Verdict.REGRESSION, Verdict.IMPROVEMENT)
        return [
            replace(c, message=f"{c.message} (the stack changed since the baseline: {changes})")
            if c.verdict in moved
            else c
            for c in comparisons
        ]


@dataclass
class BaselinesForRun:
    """Baseline contexts of one run, one per suite, against the server described by `server_version` and
    `backends` (None: not known). Perf baselines are filed under this machine's hardware key, or under the server's
    host for a server someone else runs (`remote_url`), whose hardware this machine cannot see, unless its user
    names that hardware (`remote_hardware`)."""

    root: Path
    gpus: tuple[int, ...]
    remote_url: str | None
    server_version: str | None
    backends: tuple[str, ...] | None
    update: bool
    strict: bool
    remote_hardware: str | None = None
    _contexts: dict[str, BaselineContext] = field(default_factory=dict, repr=False)

    def context(self, suite: str) -> BaselineContext:
        if suite not in self._contexts:
            hardware = hardware_facts(self.gpus) if suite in HARDWARE_SUITES and not self.remote_url else None
            scope = (
                hardware.key()
                if hardware
                else remote_scope(self.remote_url, self.remote_hardware)
                if suite in HARDWARE_SUITES
                else ACCURACY
            )
            self._contexts[suite] = BaselineContext(
                store=BaselineStore(self.root),
                key=BaselineKey(scope, suite),
                software=software_versions(
                    {"version": self.server_version} if self.server_version else None,
                    ",".join(self.backends) if self.backends is not None else None,
                    self.gpus,
                ),
                hardware=hardware.to_json() if hardware else None,
                update=self.update,
                strict=self.strict,
            )
        return self._contexts[suite]


def remote_scope(url: str | None, hardware: str | None = None) -> str:
    """The perf scope of a server at `url` (HOST:PORT): the hardware its user named, else "remote-" and its host,
    in the characters a scope allows (this machine cannot see the server's hardware)."""
    if hardware:
        return hardware
    host = (url or "unknown").rpartition(":")[0] or "unknown"
    return "remote-" + re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")
