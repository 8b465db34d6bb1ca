"""The contents of one baseline file as typed values, and their JSON form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping

Direction = Literal["higher", "lower"]
SCHEMA_VERSION = 1
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SIGNIFICANT = 6  # digits kept on write: enough for any tolerance, few enough for a readable diff


def _rounded(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.{_SIGNIFICANT}g}")


@dataclass(frozen=True)
class BaselineEntry:
    """One metric of one test/config: its reference value and how far it may move."""

    value: float
    unit: str
    direction: Direction
    tolerance: float  # relative: 0.05 accepts a 5% change
    noise: float | None = None  # coefficient of variation of the measurement that set `value`
    # The model's weights digest (the start of export.cache.weights_digest) where the value depends on them
    # (accuracy): a value measured with other weights says nothing about these.
    weights: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "value": _rounded(self.value),
            "unit": self.unit,
            "direction": self.direction,
            "tolerance": _rounded(self.tolerance),
        }
        if self.noise is not None:
            data["noise"] = _rounded(self.noise)
        if self.weights is not None:
            data["weights"] = self.weights
        return data

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "BaselineEntry":
        return BaselineEntry(
            data["value"], data["unit"], data["direction"], data["tolerance"], data.get("noise"), data.get("weights")
        )


@dataclass(frozen=True)
class BaselineKey:
    """Which file: `scope` is a hardware key (hardware_key()) or a hardware-independent one such as
    "accuracy"; `suite` separates suites, so each file is updated, locked and diffed on its own."""

    scope: str
    suite: str

    def __post_init__(self) -> None:
        for name, value in (("scope", self.scope), ("suite", self.suite)):
            if not _SLUG.match(value):
                raise ValueError(f"baseline {name} {value!r} must be lower-case letters, digits, '.', '_' or '-'")


@dataclass(frozen=True)
class BaselineFile:
    key: BaselineKey
    software: Mapping[str, str | None] = field(default_factory=dict)
    # config id -> metric name -> entry
    entries: Mapping[str, Mapping[str, BaselineEntry]] = field(default_factory=dict)
    # The facts the scope's hardware key was made of (HardwareFacts.to_json()); None in files of other scopes and in
    # files written before keys told CPU generations apart.
    hardware: Mapping[str, Any] | None = None

    def get(self, config: str, metric: str) -> BaselineEntry | None:
        return self.entries.get(config, {}).get(metric)

    def merged(
        self,
        software: Mapping[str, str | None],
        entries: Mapping[str, Mapping[str, BaselineEntry]],
        hardware: Mapping[str, Any] | None = None,
    ) -> "BaselineFile":
        """This file with `entries` written over it, measured with `software` on `hardware` (None: as recorded);
        every other config and metric stays as it was. A stored entry keeps its tolerance: that is a reviewed
        policy, while value and noise are what was measured."""
        combined = {config: dict(metrics) for config, metrics in self.entries.items()}
        for config, metrics in entries.items():
            stored = combined.setdefault(config, {})
            for metric, entry in metrics.items():
                previous = stored.get(metric)
                stored[metric] = replace(entry, tolerance=previous.tolerance) if previous else entry
        return BaselineFile(self.key, dict(software), combined, hardware if hardware is not None else self.hardware)

    def without(self, dropped: Callable[[str], bool]) -> "BaselineFile":
        """This file less the configs `dropped` says to drop."""
        kept = {config: metrics for config, metrics in self.entries.items() if not dropped(config)}
        return BaselineFile(self.key, self.software, kept, self.hardware)

    def map_entries(self, change: Callable[[str, str, BaselineEntry], BaselineEntry]) -> "BaselineFile":
        """This file with each entry replaced by `change(config, metric, entry)`."""
        entries = {
            config: {metric: change(config, metric, entry) for metric, entry in metrics.items()}
            for config, metrics in self.entries.items()
        }
        return replace(self, entries=entries)

    def with_tolerances(self, tolerances: Mapping[str, float]) -> "BaselineFile":
        """This file with every entry of each named metric given that tolerance (a reviewer's decision)."""
        return self.map_entries(
            lambda config, metric, entry: (
                replace(entry, tolerance=tolerances[metric]) if metric in tolerances else entry
            )
        )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "scope": self.key.scope,
            "suite": self.key.suite,
            "software": dict(self.software),
            "entries": {
                config: {metric: entry.to_json() for metric, entry in metrics.items()}
                for config, metrics in self.entries.items()
            },
        }
        if self.hardware is not None:
            document["hardware"] = dict(self.hardware)
        return document

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "BaselineFile":
        """From a document the schema accepted."""
        return BaselineFile(
            BaselineKey(data["scope"], data["suite"]),
            dict(data["software"]),
            {
                config: {metric: BaselineEntry.from_json(e) for metric, e in metrics.items()}
                for config, metrics in data["entries"].items()
            },
            data.get("hardware"),
        )
