"""Load points made by hand: the search's ranking and walking are arithmetic over these."""

from __future__ import annotations

import pytest

from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.results import LatencyBreakdown, LatencyStats, Measurement


def make_point(throughput: float, p99_ms: float, concurrency: int = 1, rss: int | None = None) -> Measurement:
    p99 = p99_ms * 1000
    return Measurement(
        model="m",
        protocol="grpc",
        engine="asyncio",
        load=Concurrency(concurrency),
        batch_size=1,
        throughput=throughput,
        latency=LatencyStats(p99 / 2, p99 / 2, p99 * 0.8, p99 * 0.9, p99),
        breakdown=LatencyBreakdown(20, 500, 300, 10, 9_000, 30, 20),
        batch_histogram={1: 40},
        stable=True,
        windows=(),
        tail_windows=0,
        requests=300,
        errors=0,
        server_rss_bytes=rss,
    )


@pytest.fixture
def point():
    return make_point
