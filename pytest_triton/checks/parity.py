"""Served outputs against the eager PyTorch fp32 reference, with per-precision tolerances.

The statistics are those of FasterTransformer's BERT identity test: max abs diff, mean abs diff and
max relative diff per output. Default tolerances (max abs diff, mean abs diff):

    fp32: 1e-3, 1e-4   # kernel and batching differences only
    fp16: 5e-2, 5e-3   # half precision keeps ~3 decimal digits of logits of order 1-10

Override with --triton-tolerance=fp16:max_abs=0.1,mean_abs=0.01 (or the ini key triton_tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from pytest_triton.errors import TritonPluginError


@dataclass(frozen=True)
class Tolerance:
    max_abs: float
    mean_abs: float


DEFAULT_TOLERANCES = {"fp32": Tolerance(1e-3, 1e-4), "fp16": Tolerance(5e-2, 5e-3)}


@dataclass(frozen=True)
class OutputDiff:
    """How far one served output is from the reference."""

    output: str
    max_abs: float
    mean_abs: float
    max_rel: float

    def within(self, tolerance: Tolerance) -> bool:
        return self.max_abs <= tolerance.max_abs and self.mean_abs <= tolerance.mean_abs


def compare(served: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray]) -> list[OutputDiff]:
    """Per-output differences, computed in float64; a shape mismatch is a failure of its own."""
    diffs = []
    for name, expected in reference.items():
        if name not in served:
            raise AssertionError(f"output {name}: the server did not return it (got {sorted(served)})")
        actual = served[name]
        if actual.shape != expected.shape:
            raise AssertionError(f"output {name}: served shape {actual.shape} != reference shape {expected.shape}")
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        delta = np.abs(a - e)
        if not np.isfinite(a).all():
            raise AssertionError(f"output {name}: the served output holds NaN or inf")
        rel = delta / np.maximum(np.abs(e), 1e-6)
        diffs.append(OutputDiff(name, float(delta.max()), float(delta.mean()), float(rel.max())))
    return diffs


def parse_tolerances(values: list[str]) -> dict[str, Tolerance]:
    """Defaults overridden by "PRECISION:max_abs=X,mean_abs=Y" items; a bad item names itself."""
    tolerances = dict(DEFAULT_TOLERANCES)
    for item in values:
        precision, _, settings = item.partition(":")
        if precision not in tolerances or not settings:
            raise TritonPluginError(
                f"--triton-tolerance={item!r}: expected PRECISION:max_abs=X[,mean_abs=Y] "
                f"with PRECISION one of {sorted(tolerances)}"
            )
        fields = vars(tolerances[precision]).copy()
        for setting in settings.split(","):
            key, _, value = setting.partition("=")
            try:
                if key not in fields:
                    raise ValueError
                fields[key] = float(value)
            except ValueError:
                raise TritonPluginError(
                    f"--triton-tolerance={item!r}: {setting!r} is not max_abs=NUMBER or mean_abs=NUMBER"
                ) from None
        tolerances[precision] = Tolerance(**fields)
    return tolerances
