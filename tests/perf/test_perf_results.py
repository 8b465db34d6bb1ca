"""Measurement records: metrics, noise, the JSON form, and what a baseline keeps of them."""

from __future__ import annotations

import json

import pytest

from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.load import Concurrency, RequestRate
from pytest_triton.perf.results import (
    METRICS,
    SERVER_FIGURES,
    LatencyBreakdown,
    LatencyStats,
    Measurement,
    WindowResult,
)


def window(throughput: float, latency_us: float, server_cpu_s: float | None = None) -> WindowResult:
    stats = LatencyStats(latency_us, latency_us, latency_us * 1.2, latency_us * 1.3, latency_us * 1.5)
    return WindowResult(1.0, int(throughput), 0, 0, throughput, stats, 0.1, server_cpu_s)


def measurement(windows: tuple[WindowResult, ...], load=Concurrency(2), **server: float) -> Measurement:
    return Measurement(
        model="m",
        protocol="grpc",
        engine="asyncio",
        load=load,
        batch_size=1,
        throughput=100.0,
        latency=LatencyStats(10_000, 9_500, 12_000, 13_000, 15_000),
        breakdown=LatencyBreakdown(20, 500, 300, 10, 9_000, 30, 20),
        batch_histogram={1: 40, 2: 30},
        stable=True,
        windows=windows,
        tail_windows=3,
        requests=300,
        errors=0,
        client_cpu_cores=0.2,
        **server,
    )


def test_latency_stats_of_known_values():
    stats = LatencyStats.of(list(range(1, 101)))
    assert stats.avg_us == pytest.approx(50.5)
    assert stats.p50_us == pytest.approx(50.5)
    assert stats.p99_us == pytest.approx(99.01)
    assert LatencyStats.of([]) == LatencyStats(0, 0, 0, 0, 0)


def test_noise_is_the_coefficient_of_variation_of_the_aggregated_windows_only():
    # The first window (warming, far off) is not part of the tail of three.
    m = measurement((window(10, 50_000), window(90, 10_000), window(100, 10_000), window(110, 10_000)))
    assert m.noise("throughput") == pytest.approx(0.1)  # std 10 / mean 100
    assert m.noise("latency_avg") == pytest.approx(0.0)
    assert measurement((window(100, 10_000),)).noise("throughput") is None


def test_metric_values_by_name():
    m = measurement(())
    assert m.value("throughput") == 100.0
    assert m.value("latency_p99") == 15_000
    with pytest.raises(KeyError, match="latency_p42"):
        m.value("latency_p42")


@pytest.mark.parametrize("load", [Concurrency(2), RequestRate(30, "poisson")])
def test_to_dict_is_json_and_round_trips(load):
    m = measurement((window(90, 10_000), window(100, 10_000), window(110, 10_000)), load)
    data = json.loads(json.dumps(m.to_dict()))
    assert data["throughput"] == 100.0
    assert data["batch_histogram"] == {"1": 40, "2": 30}
    assert data["noise"]["throughput"] == pytest.approx(0.1)
    assert Measurement.from_dict(data) == m


def test_baseline_entries_carry_unit_direction_tolerance_and_noise():
    m = measurement((window(90, 10_000), window(100, 10_000), window(110, 10_000)))
    entries = measurement_entries(m, tolerances={"throughput": 0.07})

    # A server elsewhere: its CPU time and memory are unknown, and have no entries.
    # Nor has it the requests a p99 bound needs.
    assert set(entries) == set(METRICS) - set(SERVER_FIGURES) - {"latency_p99_bound"}
    assert entries["throughput"].value == 100.0
    assert (entries["throughput"].unit, entries["throughput"].direction) == ("infer/s", "higher")
    assert entries["throughput"].tolerance == 0.07
    assert entries["throughput"].noise == pytest.approx(0.1)
    assert (entries["latency_p99"].value, entries["latency_p99"].direction) == (15_000, "lower")


def test_a_server_on_this_machine_adds_its_cpu_time_per_inference_and_the_models_memory():
    # 100 inferences a window; 0.45, 0.50 and 0.55 s of server CPU: 4.5, 5 and 5.5 ms each.
    windows = (window(100, 10_000, 0.45), window(100, 10_000, 0.50), window(100, 10_000, 0.55))
    m = measurement(windows, server_cpu_us=5_000.0, server_rss_bytes=900 * 2**20, model_rss_bytes=300 * 2**20)
    entries = measurement_entries(m)
    # The whole server's memory depends on what else the run loaded: limited, never kept. No GPU here.
    assert set(entries) == set(METRICS) - {"server_rss", "gpu_memory", "gpu_power", "latency_p99_bound"}
    assert (entries["server_cpu_us"].value, entries["server_cpu_us"].direction) == (5_000.0, "lower")
    assert entries["server_cpu_us"].noise == pytest.approx(0.1)
    assert (entries["model_rss"].value, entries["model_rss"].unit) == (300 * 2**20, "bytes")
    assert Measurement.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_gpu_figures_are_read_and_limited_but_not_kept():
    m = measurement((), gpu_memory_bytes=6e9, gpu_power_w=250.0, gpu_utilization=0.8)
    assert (m.value("gpu_memory"), m.value("gpu_power")) == (6e9, 250.0)
    # The GPUs' memory and power count everything else on them (other models, other jobs): not a baseline's.
    assert not {"gpu_memory", "gpu_power"} & set(measurement_entries(m))


def test_judge_re_measures_only_when_something_regressed_and_keeps_what_repeats():
    from pytest_triton.baselines import BaselineFile, BaselineKey, Verdict
    from pytest_triton.perf.judge import judge

    steady = (window(99, 10_000), window(100, 10_000), window(101, 10_000))
    base = measurement(steady)
    baseline = BaselineFile(BaselineKey("cpu-x-2c", "perf"), {}, {"cfg": measurement_entries(base)})
    slower = Measurement(**{**vars(base), "throughput": 80.0})
    calls = []

    def remeasure(result: Measurement):
        def again() -> Measurement:
            calls.append(1)
            return result

        return again

    assert all(c.verdict is Verdict.OK for c in judge("cfg", base, baseline, remeasure=remeasure(base)))
    assert calls == []  # nothing regressed: no second measurement
    kept = {c.metric: c.verdict for c in judge("cfg", slower, baseline, remeasure=remeasure(slower))}
    assert kept["throughput"] is Verdict.REGRESSION and len(calls) == 1
    dropped = {c.metric: c.verdict for c in judge("cfg", slower, baseline, remeasure=remeasure(base))}
    assert dropped["throughput"] is Verdict.WITHIN_NOISE
    assert {c.verdict for c in judge("cfg", base, None, strict=True)} == {Verdict.MISSING}
