"""Comparing a measurement with its baseline, so that noise is not reported as a regression."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Mapping, Sequence

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile
from pytest_triton.units import value_text

# How many combined standard deviations of noise a change must exceed to count.
NOISE_SIGMAS = 3.0
_STRICT_HINT = " (strict mode: a baseline is required)"


class Verdict(str, Enum):
    OK = "ok"  # within tolerance
    WITHIN_NOISE = "within_noise"  # beyond tolerance, but the measured noise explains it
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"  # beyond tolerance and noise, the good way: update the baseline
    MISSING = "missing"  # no baseline yet
    NOT_APPLIED = "not_applied"  # the baseline was measured with other model weights


@dataclass(frozen=True)
class Comparison:
    config: str
    metric: str
    measured: BaselineEntry
    baseline: BaselineEntry | None
    verdict: Verdict
    change: float | None  # relative, signed: (measured - baseline) / baseline
    noise_bound: float | None  # the relative change noise can explain, in the direction of `change`
    failed: bool
    message: str

    @property
    def baseline_value(self) -> float | None:
        return self.baseline.value if self.baseline else None

    def to_dict(self) -> dict[str, object]:
        return {
            "config": self.config,
            "metric": self.metric,
            "measured": self.measured.to_json(),
            "baseline": self.baseline.to_json() if self.baseline else None,
            "verdict": self.verdict.value,
            "change": self.change if self.change is None or math.isfinite(self.change) else None,
            "noise_bound": self.noise_bound,
            "failed": self.failed,
            "message": self.message,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "Comparison":
        """Back from to_dict(), e.g. after travelling from an xdist worker to the controller."""
        return Comparison(
            config=data["config"],
            metric=data["metric"],
            measured=BaselineEntry.from_json(data["measured"]),
            baseline=BaselineEntry.from_json(data["baseline"]) if data["baseline"] else None,
            verdict=Verdict(data["verdict"]),
            change=data["change"],
            noise_bound=data["noise_bound"],
            failed=data["failed"],
            message=data["message"],
        )


def _noise_explains(change: float, baseline: BaselineEntry, measured: BaselineEntry, sigmas: float) -> float:
    """The relative change, in the direction of `change`, within `sigmas` standard deviations of the two
    measurements' noise (unknown noise counts 0).

    Judged on a log scale because these metrics are positive and their noise multiplies: on a linear scale a
    badly scattered measurement (coefficient of variation 0.35) would explain even a hundredfold drop."""
    log_bound = sigmas * math.hypot(_log_sigma(baseline.noise), _log_sigma(measured.noise))
    return math.expm1(log_bound) if change >= 0 else -math.expm1(-log_bound)


def _log_sigma(cv: float | None) -> float:
    """The standard deviation of ln(x) for a lognormal x with this coefficient of variation."""
    return math.sqrt(math.log1p(cv * cv)) if cv else 0.0


def compare(
    config: str,
    metric: str,
    measured: BaselineEntry,
    baseline: BaselineEntry | None,
    *,
    strict: bool = False,
    sigmas: float = NOISE_SIGMAS,
) -> Comparison:
    """A regression needs both: a change beyond the baseline's tolerance, and beyond what the noise of the
    two measurements explains. A missing baseline fails only in strict mode; so does one measured with other model
    weights, which is not applied."""
    name = f"{config} {metric}"
    if baseline is None:
        hint = _STRICT_HINT if strict else "; run with --update-baselines to record one"
        message = f"{name}: no baseline{hint}"
        return Comparison(config, metric, measured, None, Verdict.MISSING, None, None, strict, message)
    if baseline.weights and measured.weights and baseline.weights != measured.weights:
        # Like a missing baseline: there is none for these weights, which strict mode does not accept.
        message = (
            f"{name}: baseline measured with other weights ({baseline.weights}, this model has {measured.weights}): "
            "not applied; run with --update-baselines to record one for these weights"
            + (_STRICT_HINT if strict else "")
        )
        return Comparison(config, metric, measured, baseline, Verdict.NOT_APPLIED, None, None, strict, message)
    change = _relative_change(measured.value, baseline.value)
    bound = _noise_explains(change, baseline, measured, sigmas)
    worse = change < 0 if baseline.direction == "higher" else change > 0
    size = abs(change)
    now, before = value_text(measured.value, measured.unit), value_text(baseline.value, baseline.unit)
    shown = f"{now} vs baseline {before} ({change:+.1%})"
    if size <= baseline.tolerance:
        verdict, message = Verdict.OK, f"{name}: {shown}, within tolerance {baseline.tolerance:.0%}"
    elif size <= bound:
        verdict, message = (
            Verdict.WITHIN_NOISE,
            (
                f"{name}: {shown}, beyond tolerance {baseline.tolerance:.0%} "
                f"but within noise (it explains up to {bound:.1%})"
            ),
        )
    elif worse:
        verdict, message = (
            Verdict.REGRESSION,
            (
                f"{name}: regression, {shown}; beyond tolerance {baseline.tolerance:.0%} "
                f"and noise (it explains up to {bound:.1%})"
            ),
        )
    else:
        verdict, message = (
            Verdict.IMPROVEMENT,
            (f"{name}: improved, {shown}; run with --update-baselines to record the new value"),
        )
    failed = verdict is Verdict.REGRESSION
    return Comparison(config, metric, measured, baseline, verdict, change, bound, failed, message)


def _relative_change(measured: float, baseline: float) -> float:
    if baseline == 0:
        return 0.0 if measured == 0 else math.copysign(math.inf, measured)
    return (measured - baseline) / abs(baseline)


def compare_entries(
    config: str,
    measured: Mapping[str, BaselineEntry],
    baseline: BaselineFile | None,
    *,
    strict: bool = False,
    sigmas: float = NOISE_SIGMAS,
) -> list[Comparison]:
    """Every metric of `config` against `baseline` (None: no file yet, so every metric is missing)."""
    return [
        compare(config, metric, entry, baseline.get(config, metric) if baseline else None, strict=strict, sigmas=sigmas)
        for metric, entry in measured.items()
    ]


def confirm(first: Sequence[Comparison], again: Sequence[Comparison]) -> list[Comparison]:
    """`first` with each regression kept only where a second measurement (`again`, compared with the same
    baseline) regresses too. Machine load drifts between runs more than a run's own windows show (see
    benchmarks/regression_detection.py); a drift rarely lasts through two measurements, a slowdown does."""
    repeated = {(c.config, c.metric): c for c in again}
    result = []
    for comparison in first:
        if comparison.verdict is Verdict.REGRESSION:
            second = repeated.get((comparison.config, comparison.metric))
            if second is not None and second.verdict is Verdict.REGRESSION:
                note = f"; confirmed by a second measurement ({second.change:+.1%})"
                comparison = replace(comparison, message=comparison.message + note)
            else:
                seen = f"{second.change:+.1%}" if second is not None and second.change is not None else "not measured"
                comparison = replace(
                    comparison,
                    verdict=Verdict.WITHIN_NOISE,
                    failed=False,
                    message=f"{comparison.message}; not reproduced by a second measurement ({seen}), so taken as noise",
                )
        result.append(comparison)
    return result
