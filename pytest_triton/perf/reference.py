"""The model measured in alternation with a reference served beside it: the gate for small slowdowns.

On the shared 2-core CI machine a configuration's throughput moves 8% between runs (cv over 54 measurements in 9
server runs) and 4% within one: most of the noise is a level a run keeps (the machine's load in those minutes, where
this server's processes landed). A fixed amount of arithmetic served by the same server, measured in short slices
alternating with the model's, shares that level, and the ratio of the two throughputs drops it: 2.6% over the same
measurements, 12 slice pairs each (benchmarks/regression_detection.py; figures in the README). It costs a second
measurement, so it is asked for (--triton-perf-reference).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from typing import Callable

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile
from pytest_triton.baselines.verdict import Comparison, Verdict, compare_entries
from pytest_triton.kinds import PERF_REFERENCE_MODEL
from pytest_triton.perf.calibration import CalibrationModel, work_model
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.load import LoadPoint
from pytest_triton.perf.measure import measure
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

# Six 256x256 products a batch: about 2.5 ms a request on the CI machine, the cost of a small served model.
REFERENCE_MODEL: CalibrationModel = work_model(6, name=PERF_REFERENCE_MODEL)
METRIC = "throughput_vs_reference"
# The ratio's cv is about 2.6% there: see judge_referenced for how a regression is decided, and the README for the
# rates measured (benchmarks/regression_detection.py).
TOLERANCE = 0.06
# A first measurement suspected of a regression beyond this many sigma of noise is measured again; the regression
# stands where both pooled exceed the usual 3 sigma. On the benchmark's trials this caught an 11.6% slowdown in 92%
# against 81% for the rule of the other metrics (3 sigma, then the second measurement regressing on its own), at
# 0.7% false alarms against 0.1%.
SCREEN_SIGMAS = 2.0
SLICE_S = 0.5  # short, so that a busy spell falls on both sides of many pairs
_SLICE_WARMUP_S = 0.1


@dataclass(frozen=True)
class ReferencedThroughput:
    """Throughputs (inferences/s) of the model's and the reference's slices, in the order measured: slice i of
    one was taken next to slice i of the other."""

    model: tuple[float, ...]
    reference: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.model or len(self.model) != len(self.reference) or min(self.reference) <= 0:
            raise ValueError("need as many slices of the model as of the reference, each reference slice served")

    @property
    def ratio(self) -> float:
        """The model's throughput as a multiple of the reference's, over all slices."""
        return statistics.fmean(self.model) / statistics.fmean(self.reference)

    @property
    def noise(self) -> float | None:
        """Coefficient of variation of `ratio`, from the spread of the pairs' ratios; None from one pair."""
        pairs = [m / r for m, r in zip(self.model, self.reference)]
        if len(pairs) < 2:
            return None
        return statistics.stdev(pairs) / statistics.fmean(pairs) / math.sqrt(len(pairs))

    def pooled(self, other: "ReferencedThroughput") -> "ReferencedThroughput":
        return ReferencedThroughput(self.model + other.model, self.reference + other.reference)

    def entries(self, tolerance: float = TOLERANCE) -> dict[str, BaselineEntry]:
        return {METRIC: BaselineEntry(self.ratio, "x", "higher", tolerance, self.noise)}

    def to_dict(self) -> dict[str, object]:
        return {"model": list(self.model), "reference": list(self.reference), "ratio": self.ratio}


def measure_referenced(
    endpoint: ServerEndpoint,
    workload: Workload,
    reference: Workload,
    load: LoadPoint,
    settings: MeasurementSettings,
    slices: int,
) -> ReferencedThroughput:
    """`slices` slices of each at `load`, in pairs whose order alternates (model first, then reference first), so
    that a steady drift moves both alike. Every slice must be served without errors. The slices are the built-in
    generator's whatever engine the main measurement used: the ratio compares two of its own figures."""
    if slices < 1:
        raise ValueError(f"slices must be at least 1, not {slices}")
    one_window = dataclasses.replace(
        settings, window_s=SLICE_S, warmup_s=_SLICE_WARMUP_S, stable_windows=1, max_windows=1, min_requests=0
    )
    model = dataclasses.replace(workload, check=None)  # the answers under load are the main measurement's to check
    taken: tuple[list[float], list[float]] = ([], [])
    for index in range(slices):
        for side in (0, 1) if index % 2 == 0 else (1, 0):
            subject = (model, reference)[side]
            (m,) = measure(endpoint, subject, [load], one_window)
            if m.errors:
                raise MeasurementFailed(
                    f"'{subject.model}' at {load.label} failed {m.errors} of {m.requests + m.errors} requests in a "
                    f"slice of the measurement against the reference; the first: {m.first_error}"
                )
            if not m.requests:
                raise MeasurementFailed(
                    f"no request to '{subject.model}' at {load.label} finished within a {SLICE_S} s slice: a model "
                    "this slow cannot be measured against the reference (leave out --triton-perf-reference)"
                )
            taken[side].append(m.throughput)
    return ReferencedThroughput(tuple(taken[0]), tuple(taken[1]))


def judge_referenced(
    config: str,
    first: ReferencedThroughput,
    baseline: BaselineFile | None,
    *,
    strict: bool = False,
    again: Callable[[], ReferencedThroughput] | None = None,
) -> tuple[Comparison, ReferencedThroughput]:
    """The ratio against its baseline as the other metrics are judged (tolerance, then 3 sigma of noise), with one
    difference where `again` is given: a first measurement that regresses beyond SCREEN_SIGMAS is measured again, and
    the verdict is that of both measurements' slices pooled. Returns the comparison and the throughput it judged
    (pooled where measured again)."""
    (judged,) = compare_entries(config, first.entries(), baseline, strict=strict)
    if again is None:
        return judged, first
    (screened,) = compare_entries(config, first.entries(), baseline, strict=strict, sigmas=SCREEN_SIGMAS)
    if screened.verdict is not Verdict.REGRESSION:
        return judged, first
    both = first.pooled(again())
    (pooled,) = compare_entries(config, both.entries(), baseline, strict=strict)
    note = (
        f"; measured again, {len(both.model)} slice pairs pooled (the first {len(first.model)}: {screened.change:+.1%})"
    )
    return dataclasses.replace(pooled, message=pooled.message + note), both
