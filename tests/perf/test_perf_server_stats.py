"""The server's side of a window, from two snapshots of the statistics extension."""

from __future__ import annotations

import pytest

from pytest_triton.perf.server_stats import ServerWindow
from pytest_triton.server.client import ModelStatistics


def snapshot(requests: int, queue_ns: int, infer_ns: int, batches: dict[int, int]) -> ModelStatistics:
    return ModelStatistics(
        inference_count=requests,
        execution_count=sum(batches.values()),
        durations_ns={
            "success": (requests, 0),
            "queue": (requests, queue_ns),
            "compute_input": (requests, requests * 1_000),
            "compute_infer": (requests, infer_ns),
            "compute_output": (requests, requests * 2_000),
        },
        batch_counts=batches,
    )


def test_window_averages_are_per_request_over_the_difference():
    before = snapshot(100, queue_ns=5_000_000, infer_ns=900_000_000, batches={1: 100})
    # 50 more requests: 10 ms queue and 20 ms compute each; 10 singles and 20 pairs.
    after = snapshot(
        150, queue_ns=5_000_000 + 50 * 10_000_000, infer_ns=900_000_000 + 50 * 20_000_000, batches={1: 110, 2: 20}
    )

    window = ServerWindow.between(before, after)

    assert window.requests == 50
    assert window.queue_us == pytest.approx(10_000)
    assert window.compute_infer_us == pytest.approx(20_000)
    assert window.compute_input_us == pytest.approx(1)
    assert window.compute_output_us == pytest.approx(2)
    assert window.batch_histogram == {1: 10, 2: 20}


def test_sizes_without_executions_in_the_window_are_left_out():
    before = snapshot(10, 0, 0, {1: 5, 4: 3})
    after = snapshot(12, 0, 0, {1: 7, 4: 3})
    assert ServerWindow.between(before, after).batch_histogram == {1: 2}


def test_an_idle_window_has_zero_averages_not_a_division_error():
    same = snapshot(10, 100, 100, {1: 10})
    window = ServerWindow.between(same, same)
    assert (window.requests, window.queue_us, window.compute_infer_us, window.batch_histogram) == (0, 0.0, 0.0, {})


def test_breakdown_gives_the_unaccounted_rest_to_network_and_server_overhead():
    window = ServerWindow(
        10, queue_us=100, compute_input_us=10, compute_infer_us=1000, compute_output_us=20, batch_histogram={}
    )
    parts = window.breakdown(latency_avg_us=1500, client_send_us=30, client_recv_us=40)

    assert parts.network_server_us == pytest.approx(1500 - (30 + 40 + 100 + 10 + 1000 + 20))
    total = sum(vars(parts).values())
    assert total == pytest.approx(1500)
    # Timing skew between snapshots and requests can make the rest negative: it is clamped, not reported.
    assert window.breakdown(latency_avg_us=1000, client_send_us=0, client_recv_us=0).network_server_us == 0
