"""One model x format x precision combination that a run checks: the unit the fixtures and the perf plan share."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_triton.kinds import variant_id
from pytest_triton.models.spec import ModelSpec


@dataclass(frozen=True)
class Variant:
    spec: ModelSpec
    format: str
    precision: str

    @property
    def id(self) -> str:
        return variant_id(self.spec.name, self.format, self.precision)
