"""The load generator against models whose answer is known (conftest.py's calibration server)."""

from __future__ import annotations

import pytest

from pytest_triton.perf.asyncio_engine import AsyncioEngine
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.load import Concurrency, RequestRate
from pytest_triton.perf.measure import measure
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.metrics import read_metrics

pytestmark = [pytest.mark.server, pytest.mark.measures]

SHORT = MeasurementSettings(window_s=0.5, warmup_s=0.3, max_windows=6)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sleep_model_gives_its_known_throughput_and_compute_time(calibration_server, protocol):
    model = calibration_server.sleep
    settings = MeasurementSettings(window_s=0.5, warmup_s=0.3, max_windows=6, protocol=protocol)
    [result] = measure(calibration_server.endpoint, model.workload(), [Concurrency(1)], settings)

    # The sleep caps throughput at 50 inf/s; python-backend overhead, which grows when the cores are
    # shared (seen: 39 inf/s beside two other jobs), only ever lowers it.
    assert 0.5 * model.expected_throughput() <= result.throughput <= 1.05 * model.expected_throughput()
    assert result.breakdown.compute_infer_us == pytest.approx(model.sleep_ms * 1000, rel=0.15)
    # At concurrency 1 nothing waits for long, and a request's latency covers its own compute.
    assert result.breakdown.server_queue_us < 0.25 * model.sleep_ms * 1000
    assert result.latency.avg_us >= result.breakdown.compute_infer_us
    assert result.latency.p50_us <= result.latency.p90_us <= result.latency.p95_us <= result.latency.p99_us
    assert set(result.batch_histogram) == {1} and result.batch_histogram[1] > 0
    assert result.errors == 0 and result.requests > 0
    assert result.protocol == protocol and result.engine == "asyncio"
    assert 1 <= len(result.windows) <= settings.max_windows
    assert not result.client_saturated


def test_server_cpu_time_counts_work_not_waiting(calibration_server):
    """The server's processes read from /proc: the sleep model waits 20 ms a request and spends little CPU on it;
    the work model computes for its whole compute time."""
    endpoint = calibration_server.endpoint
    [sleeping] = measure(endpoint, calibration_server.sleep.workload(), [Concurrency(1)], SHORT)
    [working] = measure(endpoint, calibration_server.work.workload(), [Concurrency(1)], SHORT)
    assert sleeping.server_cpu_us is not None and working.server_cpu_us is not None
    assert sleeping.server_cpu_us < 0.3 * calibration_server.sleep.sleep_ms * 1000
    # Time a hypervisor gives to other guests passes on the wall clock, not in CPU time: half is a safe floor.
    assert working.server_cpu_us >= 0.5 * working.breakdown.compute_infer_us
    assert working.server_rss_bytes is not None and working.server_rss_bytes > 50 * 2**20
    # The model's own stub, a python process with numpy: part of the server's memory.
    assert working.model_rss_bytes is not None and 10 * 2**20 < working.model_rss_bytes < working.server_rss_bytes
    assert all(w.steal_share is not None and 0 <= w.steal_share <= 1 for w in working.windows)
    assert all(w.server_cpu_s is not None and w.server_cpu_s > 0 for w in working.windows)
    # The metrics endpoint answers, and a CPU server exports no GPU figures.
    assert endpoint.metrics_url is not None
    assert (read_metrics(endpoint.metrics_url).total("nv_inference_count") or 0) >= working.requests
    assert (working.gpu_memory_bytes, working.gpu_power_w, working.gpu_utilization) == (None, None, None)


def test_count_based_windows_hold_at_least_the_requests_asked_for(calibration_server):
    """20 ms a request: a 0.1 s window holds about 5; asked for 15, each window stretches to about 0.3 s."""
    settings = MeasurementSettings(
        window_s=0.1, warmup_s=0.2, stable_windows=2, max_windows=4, min_requests=15, percentile=90
    )
    [m] = measure(calibration_server.endpoint, calibration_server.sleep.workload(), [Concurrency(1)], settings)
    assert m.windows and all(w.requests >= 15 for w in m.windows)
    assert all(w.duration_s >= 0.25 for w in m.windows)


def test_concurrency_two_with_dynamic_batching_forms_batches(calibration_server):
    model = calibration_server.batching
    [result] = measure(calibration_server.endpoint, model.workload(), [Concurrency(2)], SHORT)

    batched = sum(n for size, n in result.batch_histogram.items() if size > 1)
    assert batched > 0, f"no batch larger than 1 in {result.batch_histogram}"
    assert max(result.batch_histogram) == 2
    # Each batch of two sleeps once, and both of its requests are charged that sleep: once, not twice. Above the
    # sleep, the stub's own time grows when the other core is busy (11.9 ms for a 10 ms sleep beside a training
    # run), so the bound above sits halfway to a double charge rather than at 15%.
    sleep_us = model.sleep_ms * 1000
    assert 0.95 * sleep_us <= result.breakdown.compute_infer_us <= 1.5 * sleep_us
    # Little's law for a closed loop: two requests always in flight, each taking the average latency.
    assert result.throughput == pytest.approx(2 * 1e6 / result.latency.avg_us, rel=0.1)


@pytest.mark.parametrize("arrivals", ["constant", "poisson"])
def test_request_rate_mode_offers_the_target_rate(calibration_server, arrivals):
    # 20/s against a model that can do 50/s: the server keeps up, so throughput equals the offered rate.
    rate = RequestRate(20, arrivals)
    # Poisson arrivals over ~3 s carry sampling noise of their own (±1/sqrt(60) ~ 13%); constant ones almost none.
    stability, tolerance = (10, 0.1) if arrivals == "constant" else (25, 0.3)
    settings = MeasurementSettings(window_s=1.0, warmup_s=0.3, max_windows=6, stability_pct=stability)
    [result] = measure(calibration_server.endpoint, calibration_server.sleep.workload(), [rate], settings)

    assert result.throughput == pytest.approx(20, rel=tolerance)
    assert result.load == rate
    assert result.dropped == 0 and result.errors == 0


def test_request_rate_beyond_capacity_saturates_at_the_known_answer_and_drops_the_rest(calibration_server):
    model = calibration_server.sleep
    # 200/s offered to a model that completes 50/s; at most 4 requests may wait, the rest are dropped. Up to 10
    # windows: with 4, a spell of hypervisor steal on the CI machine left no stable tail (33.9/s, once).
    settings = MeasurementSettings(window_s=0.5, warmup_s=0.3, max_windows=10, max_in_flight=4)
    [result] = measure(calibration_server.endpoint, model.workload(), [RequestRate(200)], settings)

    # Saturated: the server completes what the sleep allows and no more; its overhead, which grows when the other
    # core is busy (41.96/s in one CI run beside exports), only ever lowers that, as at concurrency 1 above.
    assert 0.5 * model.expected_throughput() <= result.throughput <= 1.05 * model.expected_throughput()
    assert result.dropped > 0 and result.errors == 0
    assert result.breakdown.server_queue_us > model.sleep_ms * 1000  # requests wait behind each other


def test_sweep_returns_one_measurement_per_point_in_order(calibration_server):
    points = [Concurrency(1), Concurrency(4)]
    workload = calibration_server.identity.workload(batch_size=2)
    results = AsyncioEngine(calibration_server.endpoint).measure(workload, points, SHORT)

    assert [r.load for r in results] == points
    for r in results:
        assert r.batch_size == 2 and r.requests > 0
        # A request of batch 2 counts twice: throughput is inferences, not requests.
        assert r.throughput == pytest.approx(2 * r.requests / sum(w.duration_s for w in r.tail), rel=1e-6)
        assert r.client_cpu_cores > 0


def test_a_measurement_that_never_stabilises_says_so(calibration_server):
    # A 0.01% agreement between windows is out of reach on a real machine: every window is used.
    settings = MeasurementSettings(window_s=0.2, warmup_s=0.1, stability_pct=0.01, max_windows=4)
    [result] = measure(calibration_server.endpoint, calibration_server.identity.workload(), [Concurrency(1)], settings)

    assert result.stable is False
    assert len(result.windows) == settings.max_windows
    assert result.tail_windows == settings.stable_windows
    assert result.throughput > 0


def test_every_request_failing_is_an_error_not_a_measurement(calibration_server):
    workload = Workload("no_such_model", calibration_server.identity.workload().requests, ("OUTPUT0",))
    settings = MeasurementSettings(window_s=0.2, warmup_s=0.1, max_windows=3)

    with pytest.raises(MeasurementFailed, match="no_such_model"):
        measure(calibration_server.endpoint, workload, [Concurrency(2)], settings)
