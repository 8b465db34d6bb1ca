"""The measurement against a reference served beside the model (--triton-perf-reference)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile, BaselineKey
from pytest_triton.baselines.verdict import Verdict
from pytest_triton.errors import Unsupported
from pytest_triton.perf.alternation import Slice
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.reference import (
    METRIC,
    TOLERANCE,
    TRIM,
    ClientSaturated,
    ReferencedThroughput,
    judge_referenced,
    measure_referenced,
    slice_throughput,
)
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings


def test_the_ratio_is_of_the_mean_throughputs_and_its_noise_comes_from_the_pairs():
    taken = ReferencedThroughput(model=(100.0, 120.0), reference=(50.0, 50.0))
    assert taken.ratio == pytest.approx(2.2)
    # Pairs 2.0 and 2.4: their cv, over the square root of their count.
    assert taken.noise == pytest.approx((math.sqrt(0.08) / 2.2) / math.sqrt(2))
    (entry,) = taken.entries().items()
    assert entry[0] == METRIC
    assert (entry[1].unit, entry[1].direction, entry[1].tolerance) == ("x", "higher", TOLERANCE)
    assert ReferencedThroughput((1.0,), (2.0,)).noise is None


def test_a_slice_is_figured_from_its_typical_latency():
    # The first request waited for the switch; of the other 20, the fastest and slowest TRIM go (2 each).
    latencies = (50_000, 1_000, 1_000, *([2_000] * 16), 40_000, 90_000)
    assert int(20 * TRIM) == 2
    piece = Slice(latencies, seconds=0.2, inferences_per_request=2)
    assert slice_throughput(piece, 1) == pytest.approx(2 * 1e6 / 2_000)
    # At concurrency 2, twice the requests in flight at the same latency (Little's law); two wait for the switch.
    assert slice_throughput(Slice((70_000, *latencies), 0.2, 2), 2) == pytest.approx(2 * 2 * 1e6 / 2_000)
    # A slice of nothing but the first requests (a model slower than a slice) keeps them; so few are not trimmed.
    assert slice_throughput(Slice((4_000,), 0.004), 1) == pytest.approx(250.0)
    assert slice_throughput(Slice((9_000, 1_000, 3_000), 0.013), 1) == pytest.approx(1e6 / 2_000)


def _baseline(ratio: float, noise: float) -> BaselineFile:
    entry = BaselineEntry(ratio, "x", "higher", TOLERANCE, noise)
    return BaselineFile(BaselineKey("cpu-test", "perf"), {}, {"cfg/c1": {METRIC: entry}})


def _taken(*ratios: float) -> ReferencedThroughput:
    return ReferencedThroughput(tuple(ratios), tuple(1.0 for _ in ratios))


def _never() -> ReferencedThroughput:
    raise AssertionError("measured again without a suspected regression")


def test_an_unchanged_ratio_is_not_measured_again():
    judged, taken = judge_referenced("cfg/c1", _taken(2.0, 2.02), _baseline(2.0, 0.01), again=_never)
    assert judged.verdict is Verdict.OK and taken.model == (2.0, 2.02)


def test_a_suspected_regression_is_judged_on_both_measurements_pooled():
    # 7.5% below, beyond the tolerance: beyond 2 sigma of the two measurements' noise, within 3.
    first = _taken(1.80, 1.90)
    assert first.noise is not None and 0.025 < first.noise < 0.03
    alone, _ = judge_referenced("cfg/c1", first, _baseline(2.0, 0.01))
    assert alone.verdict is Verdict.WITHIN_NOISE  # judged as every other metric: 3 sigma
    # Measured again as slow: the pooled slices are steadier, and the regression stands.
    judged, pooled = judge_referenced("cfg/c1", first, _baseline(2.0, 0.01), again=lambda: _taken(1.84, 1.86))
    assert pooled.model == (1.80, 1.90, 1.84, 1.86)
    assert judged.verdict is Verdict.REGRESSION and judged.failed
    assert judged.change == pytest.approx(1.85 / 2.0 - 1)
    assert "measured again, 4 slice pairs pooled (the first 2: -7.5%)" in judged.message
    # Measured again at the baseline's speed: the pooled ratio is within tolerance.
    judged, _ = judge_referenced("cfg/c1", first, _baseline(2.0, 0.01), again=lambda: _taken(2.1, 2.1))
    assert judged.verdict is Verdict.OK and not judged.failed


@pytest.mark.parametrize(("model", "reference"), [((), ()), ((1.0,), (1.0, 2.0)), ((1.0,), (0.0,))])
def test_slices_come_in_served_pairs(model, reference):
    with pytest.raises(ValueError, match="as many slices"):
        ReferencedThroughput(model, reference)


@pytest.mark.server
@pytest.mark.measures
def test_each_slice_measures_its_own_model(calibration_server):
    """The 20 ms sleep model against a working reference, then the identity model against the same: the slices of
    the model are the model's (its known answer), and the ratio follows the model."""
    settings = MeasurementSettings()
    endpoint, reference = calibration_server.endpoint, calibration_server.work.workload()
    slow = measure_referenced(endpoint, calibration_server.sleep.workload(), reference, Concurrency(1), settings, 3)
    fast = measure_referenced(endpoint, calibration_server.identity.workload(), reference, Concurrency(1), settings, 3)
    assert len(slow.model) == len(slow.reference) == 3
    # 50 inf/s at most, a sleep only ever overruns (test_measurement_matches_calibration_model's bounds).
    expected = calibration_server.sleep.expected_throughput()
    assert all(0.5 * expected <= value <= 1.05 * expected for value in slow.model), slow
    assert all(value > 0 for value in slow.reference)
    # A model that does nothing answers many times faster than one that sleeps 20 ms.
    assert fast.ratio > 3 * slow.ratio, (fast, slow)


@pytest.mark.server
def test_a_slice_that_fails_names_the_model(calibration_server):
    broken = Workload("no_such_model", ({"INPUT0": calibration_server.work.workload().requests[0]["INPUT0"]},), ())
    with pytest.raises(MeasurementFailed, match="no_such_model"):
        measure_referenced(
            calibration_server.endpoint,
            broken,
            calibration_server.work.workload(),
            Concurrency(1),
            MeasurementSettings(),
            1,
        )


@pytest.mark.server
def test_slices_the_client_set_the_pace_of_are_refused(calibration_server):
    # Any client counts as saturated at 0 cores: the ratio is refused, naming the model and what to do.
    saturated = MeasurementSettings(saturation_cores=0.0)
    with pytest.raises(ClientSaturated, match="slices of 'identity' at c1: it set the pace.*lower concurrency"):
        measure_referenced(
            calibration_server.endpoint,
            calibration_server.identity.workload(),
            calibration_server.work.workload(),
            Concurrency(1),
            saturated,
            2,
        )


def test_the_reference_needs_a_server_the_run_manages(tmp_path: Path):
    session = TritonSession(Settings(), work_dir=tmp_path, cache_dir=tmp_path)
    session.endpoint = ServerEndpoint("remote", "127.0.0.1:1", None, manages_models=False)
    with pytest.raises(Unsupported, match="server this run manages"):
        session.perf_reference()
