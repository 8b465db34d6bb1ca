"""perf_analyzer's stability rule on synthetic window series."""

from __future__ import annotations

import pytest

from pytest_triton.perf.stability import is_stable, within


def test_three_agreeing_windows_after_a_noisy_start_are_stable():
    throughputs = [50.0, 80.0, 100.0, 102.0, 98.0]
    latencies = [30.0, 14.0, 10.0, 10.2, 9.9]
    assert is_stable(throughputs, latencies, pct=10, count=3)
    # ...but not one window earlier, when the tail still held the warm-up's 80.
    assert not is_stable(throughputs[:4], latencies[:4], pct=10, count=3)


def test_windows_that_keep_drifting_never_become_stable():
    # 15% apart each: every tail of three spans ±15% around its mean.
    throughputs = [100.0 * 1.15**i for i in range(10)]
    latencies = [10.0] * 10
    assert not any(is_stable(throughputs[:n], latencies[:n], pct=10, count=3) for n in range(1, 11))


def test_latency_must_agree_as_well_as_throughput():
    assert not is_stable([100.0, 100.0, 100.0], [10.0, 10.0, 14.0], pct=10, count=3)
    assert is_stable([100.0, 100.0, 100.0], [10.0, 10.0, 10.5], pct=10, count=3)


def test_fewer_windows_than_required_are_not_stable():
    assert not is_stable([100.0, 100.0], [10.0, 10.0], pct=10, count=3)


def test_the_percentage_is_the_boundary():
    # mean 100: 90 and 110 lie exactly 10% away.
    assert within([90.0, 100.0, 110.0], pct=10)
    assert not within([89.0, 100.0, 111.0], pct=10)


def test_windows_without_any_completed_request_are_not_stable():
    assert not is_stable([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], pct=10, count=3)


def test_series_of_different_lengths_are_refused():
    with pytest.raises(ValueError):
        is_stable([1.0, 2.0, 3.0], [1.0, 2.0], pct=10, count=3)


def test_a_window_a_hypervisor_disturbed_never_counts_towards_stability():
    steady = [100.0] * 4
    assert is_stable(steady, steady, pct=10, count=3, disturbed=[True, False, False, False])
    assert not is_stable(steady, steady, pct=10, count=3, disturbed=[False, False, True, False])
