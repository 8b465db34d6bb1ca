"""Served outputs against the eager PyTorch fp32 reference, with tolerances that scale with the outputs.

An element passes when |served - reference| <= atol + rtol * |reference| (numpy's `allclose` rule), and the mean
absolute difference over the compared elements stays within `mean_abs`. Elements the model masks out (a sample
case's `compared` mask: padding in BERT's padded rows) are only required to be finite; their largest difference is
reported apart. The statistics are those of FasterTransformer's BERT identity test: max abs diff, mean abs diff
and max relative diff per output.

Default tolerances (atol, rtol, mean_abs), set from benchmarks/parity_tolerances.py over the zoo's models in every
format that runs on the CPU (figures in the README):

    fp32: 1e-3, 1e-3, 1e-4   # measured: |d| <= 3.6e-6 * (1 + |ref|), mean 9e-7; room for GPU kernels and TF32 convs
    fp16: 5e-2, 5e-2, 1e-2   # measured: |d| <= 0.0197 * (1 + |ref|), mean 3.4e-3 (bert-tiny ts-trace): 2.5x and 3x
    bf16: 0.15, 0.15, 5e-2   # measured: |d| <= 0.053 * (1 + |ref|), mean 0.017 (bert-tiny ts-trace, CPU): 2.8x, 3x

Override per precision or per output with --triton-tolerance=fp16:atol=0.05,rtol=0.02 or
--triton-tolerance=fp16/start_logits:atol=0.1,statistic=p99 (ini key triton_tolerance); a model spec may set
per-output tolerances of its own (ModelSpec.tolerances), which a per-output override on the command line beats.
A tolerance's statistic (Tolerance.statistic: max, mean, median or a quantile pNN) of the per-element ratio
|served - reference| / bound is what must stay within 1; the default, max, holds every element to its bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from pytest_triton.errors import CheckFailed
from pytest_triton.models.spec import Tolerance, is_float_dtype


@dataclass(frozen=True)
class OutputDiff:
    """How far one served output is from the reference, over the compared (unmasked) elements."""

    output: str
    tolerance: Tolerance
    max_abs: float
    mean_abs: float
    max_rel: float
    # The largest |served - reference| / (atol + rtol * |reference|): the statistic "max" fails above 1.
    bound_used: float
    max_ref: float  # the largest |reference| compared: what the relative part of the bound scales with
    masked: int = 0  # elements not compared (masked out by the model)
    masked_max_abs: float | None = None
    # The tolerance's statistic of those ratios, what is gated; None: "max", the bound_used above.
    judged: float | None = None

    @property
    def used(self) -> float:
        return self.bound_used if self.judged is None else self.judged

    @property
    def within(self) -> bool:
        return self.used <= 1.0 and self.mean_abs <= self.tolerance.mean_abs

    def row(self, label: str) -> str:
        masked = f", {self.masked} masked (max_abs {self.masked_max_abs:.3g})" if self.masked else ""
        t = self.tolerance
        of = "" if t.statistic == "max" else f"{t.statistic} of |d| / bound "
        return (
            f"{label:>16} {self.output:>14}: max_abs {self.max_abs:.3g} mean_abs {self.mean_abs:.3g} "
            f"max_rel {self.max_rel:.3g}, {of}{self.used:.0%} of atol {t.atol:g} + rtol {t.rtol:g}*|ref|"
            f" (mean_abs <= {t.mean_abs:g}){masked}"
        )


@dataclass(frozen=True)
class ParityResult:
    """Every sample case's outputs of one deployment against the reference: passes when there was something to
    compare and every output is within its tolerance."""

    model_name: str
    precision: str
    # (sample case label, one output's diff), in sample order; left out of the repr that a failed assert prints
    diffs: tuple[tuple[str, OutputDiff], ...] = field(repr=False)
    against: str = "the eager fp32 reference"  # what the outputs were compared with
    milliseconds: Mapping[str, float] = field(default_factory=dict)  # each case's request, by sample case label

    @property
    def ok(self) -> bool:
        return bool(self.diffs) and all(diff.within for _, diff in self.diffs)

    def report(self) -> str:
        """The failure text: one row per output beyond its tolerance."""
        if not self.diffs:
            return "no sample case was compared"
        return f"{self.model_name} differs from {self.against} beyond {self.precision} tolerance:\n" + "\n".join(
            diff.row(label) for label, diff in self.diffs if not diff.within
        )


def compare(
    served: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    tolerances: Mapping[str, Tolerance],
    compared: Mapping[str, np.ndarray] | None = None,
) -> list[OutputDiff]:
    """Per-output differences in float64 under each output's tolerance; `compared` holds, per output, a boolean
    mask of the elements that mean something (default: all). CheckFailed where an output cannot be compared at all
    (missing, another shape, not finite, masked out entirely)."""
    diffs = []
    for name, expected in reference.items():
        if name not in served:
            raise CheckFailed(f"output {name}: the server did not return it (got {sorted(served)})")
        actual = served[name]
        if actual.shape != expected.shape:
            raise CheckFailed(f"output {name}: served shape {actual.shape} != reference shape {expected.shape}")
        if actual.dtype == object or expected.dtype == object:  # BYTES: equal or not
            if not identical(actual, expected):
                raise CheckFailed(f"output {name}: {differing(actual, expected)} (text outputs are compared exactly)")
            diffs.append(OutputDiff(name, tolerances[name], 0.0, 0.0, 0.0, 0.0, 0.0))
            continue
        if not np.isfinite(actual).all():
            raise CheckFailed(f"output {name}: the served output holds NaN or inf")
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        # As booleans: an attention mask of 0/1 integers would otherwise index rows 0 and 1.
        mask = np.ones(e.shape, bool) if compared is None or name not in compared else np.asarray(compared[name], bool)
        if mask.shape != e.shape:
            raise CheckFailed(f"output {name}: compared mask shape {mask.shape} != output shape {e.shape}")
        delta, magnitude = np.abs(a - e), np.abs(e)
        kept, dropped = delta[mask], delta[~mask]
        if kept.size == 0:
            raise CheckFailed(f"output {name}: the sample masks out every element, so nothing is compared")
        tolerance = tolerances[name]
        ratios = _ratios(kept, tolerance.bound(magnitude[mask]))
        diffs.append(
            OutputDiff(
                output=name,
                tolerance=tolerance,
                max_abs=float(kept.max()),
                mean_abs=float(kept.mean()),
                max_rel=float((kept / np.maximum(magnitude[mask], 1e-6)).max()),
                bound_used=float(ratios.max()),
                max_ref=float(magnitude[mask].max()),
                masked=int(dropped.size),
                masked_max_abs=float(dropped.max()) if dropped.size else None,
                judged=None if tolerance.statistic == "max" else statistic_of(ratios, tolerance.statistic),
            )
        )
    return diffs


def _ratios(delta: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """delta / bound per element, where an exact element uses none of even a zero bound (NaN stays NaN: never
    within)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(delta == 0, 0.0, delta / bound)


def statistic_of(values: np.ndarray, statistic: str) -> float:
    """The statistic "max", "mean", "median" or "pNN" (a quantile: p99, p99.9) of `values`; a NaN anywhere gives
    NaN. A quantile is a value the elements reach, not interpolated: p99 <= 1 means 99% of them within bounds."""
    if statistic in ("max", "mean", "median"):
        return float(getattr(np, statistic)(values))
    return float(np.percentile(values, float(statistic[1:]), method="inverted_cdf"))


def identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape, dtype and elements, a NaN on both sides being no difference (BYTES compared as bytes)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=_holds_nan(a.dtype)))


def differing(a: np.ndarray, b: np.ndarray) -> str:
    """How two arrays that are not identical differ: their types and shapes, or how many elements."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{a.dtype}{list(a.shape)} against {b.dtype}{list(b.shape)}"
    # x != x only for NaN: a NaN on both sides is no difference.
    same = (a == b) | ((a != a) & (b != b)) if _holds_nan(a.dtype) else a == b
    return f"{int((~same).sum())} of {a.size} elements differ"


def _holds_nan(dtype: np.dtype) -> bool:
    """Floats (bfloat16 among them) and complex numbers: the dtypes whose NaN is not equal to itself."""
    return dtype.kind == "c" or is_float_dtype(dtype)
