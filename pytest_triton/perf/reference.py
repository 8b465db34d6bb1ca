"""The model measured in alternation with a reference served beside it: the gate for small slowdowns.

On the shared 2-core CI machine a configuration's throughput moves 8% between runs (cv over 54 measurements in 9
server runs) and 4% within one: most of the noise is a level a run keeps (the machine's load in those minutes, where
this server's processes landed). A fixed amount of arithmetic served by the same server, measured in short slices
alternating with the model's, shares that level, and the ratio of the two drops it. What is left is mostly stalls
of single requests, which slice_throughput leaves out. The figures, and the rates of false alarms and slowdowns
caught, are in the README (benchmarks/regression_detection.py). It costs a second measurement, so it is asked for
(--triton-perf-reference).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from typing import Callable, Sequence

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile
from pytest_triton.baselines.verdict import Comparison, Verdict, compare_entries
from pytest_triton.kinds import PERF_REFERENCE_MODEL
from pytest_triton.perf.alternation import Slice, Slices, alternate
from pytest_triton.perf.calibration import CalibrationModel, work_model
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

# Six 256x256 products a batch: about 2.5 ms a request on the CI machine, the cost of a small served model.
REFERENCE_MODEL: CalibrationModel = work_model(6, name=PERF_REFERENCE_MODEL)
METRIC = "throughput_vs_reference"
# The ratio's cv is under 2% there with 30 slice pairs: see judge_referenced for how a regression is decided, and the
# README for the rates measured (benchmarks/regression_detection.py).
TOLERANCE = 0.05
# A first measurement suspected of a regression beyond this many sigma of noise is measured again; the regression
# stands where both pooled exceed the usual 3 sigma: on the benchmark's trials it caught more than the rule of the
# other metrics (3 sigma, then the second measurement regressing on its own) at as few false alarms.
SCREEN_SIGMAS = 2.0
SLICE_S = 0.25  # short, so that a busy spell falls on both sides of many pairs
TRIM = 0.10  # of a slice's latencies at each end (slice_throughput)


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


class ClientSaturated(MeasurementFailed):
    """The model's slices were as fast as this process could send: their ratio to the reference's is the client's."""


def measure_referenced(
    endpoint: ServerEndpoint,
    workload: Workload,
    reference: Workload,
    load: Concurrency,
    settings: MeasurementSettings,
    slices: int,
) -> ReferencedThroughput:
    """`slices` slices of each at `load`, in pairs whose order alternates (model first, then reference first), so
    that a steady drift moves both alike; each slice's figure is slice_throughput. Every request must be served, and
    the client must not be saturated (ClientSaturated)."""
    taken = alternate(endpoint, (workload, reference), load.requests, slices, SLICE_S, settings)
    check_client((taken.first,), settings, f"'{workload.model}' at {load.label}")
    return referenced_from(taken, load.requests)


def check_client(sides: Sequence[Sequence[Slice]], settings: MeasurementSettings, what: str) -> None:
    """ClientSaturated where this process used `settings.saturation_cores` or more over the slices of any of
    `sides` (its mean over a side's slices): it then set the pace, and a ratio of throughputs would be the client's."""
    busy = max(statistics.fmean(s.client_cores for s in side) for side in sides)
    if busy >= settings.saturation_cores:
        raise ClientSaturated(
            f"the client used {busy:.2f} cores in the slices of {what}: it set the pace, so the ratio would measure "
            "the client (measure at a lower concurrency)"
        )


def steady_latencies(piece: Slice, concurrency: int) -> tuple[int, ...]:
    """A slice's latencies (µs) less the first `concurrency`, which wait for the switch from the other model; all of
    them where there are no more."""
    return piece.latencies_us[concurrency:] if len(piece.latencies_us) > concurrency else piece.latencies_us


def referenced_from(taken: Slices, concurrency: int) -> ReferencedThroughput:
    """The model's slices (first) against the reference's (second), each figured by slice_throughput."""
    return ReferencedThroughput(
        tuple(slice_throughput(s, concurrency) for s in taken.first),
        tuple(slice_throughput(s, concurrency) for s in taken.second),
    )


def slice_throughput(piece: Slice, concurrency: int) -> float:
    """Inferences per second that `concurrency` requests in flight sustain at the slice's typical latency (Little's
    law): its latencies' mean with the fastest and slowest TRIM of them left out, and the first `concurrency` too,
    which wait for the switch from the other model (a python-backend model's first request took 7 times its median).
    Trimmed because on the shared CI machine a few stalled requests made most of a slice's spread: bert-tiny spent 12%
    of its time in requests over twice the median, and its slices' throughput moved 10.3% (cv) where this figure moved
    5.7%."""
    latencies = sorted(steady_latencies(piece, concurrency))
    cut = int(len(latencies) * TRIM)
    kept = latencies[cut : len(latencies) - cut]
    return concurrency * piece.inferences_per_request * 1e6 / statistics.fmean(kept)


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
