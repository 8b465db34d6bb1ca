"""MLPerf-style early stopping: a p99 bound that holds with 99% confidence, from the requests measured."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.perf.early_stopping import early_stopping_percentile
from pytest_triton.perf.results import LatencyStats


def test_p99_at_99_percent_needs_459_requests_as_in_loadgen():
    assert early_stopping_percentile(list(range(1, 459)), 99) is None
    assert early_stopping_percentile(list(range(1, 460)), 99) == 459  # all it can say: the largest


def test_the_bound_is_conservative_and_tightens_as_requests_grow():
    rng = np.random.default_rng(0)
    true_p99 = float(np.exp(0.5 * 2.3263478740408408))  # lognormal(0, 0.5)
    bounds = []
    for n in (1_000, 10_000):
        latencies = rng.lognormal(0.0, 0.5, n)
        bound = early_stopping_percentile(latencies.tolist(), 99)
        assert bound is not None and bound >= float(np.percentile(latencies, 99))
        bounds.append(bound)
    assert bounds[1] < bounds[0]
    # Over many draws, the bound lies above the true p99 at least 99% of the time.
    covered = [early_stopping_percentile(rng.lognormal(0.0, 0.5, 600).tolist(), 99) >= true_p99 for _ in range(200)]
    assert sum(covered) >= 197


def test_latency_stats_carry_the_bound_where_asked_and_enough_requests_were_measured():
    assert LatencyStats.of(list(range(100)), bound=True).p99_bound_us is None
    assert LatencyStats.of(list(range(1_000))).p99_bound_us is None  # a window's: not computed
    expected = early_stopping_percentile(range(1_000), 99)
    assert LatencyStats.of(list(range(1_000)), bound=True).p99_bound_us == pytest.approx(expected)


@pytest.mark.parametrize(("percentile", "confidence"), [(0, 0.99), (100, 0.99), (99, 1.0)])
def test_bad_arguments(percentile, confidence):
    with pytest.raises(ValueError, match="percentile in"):
        early_stopping_percentile([1.0, 2.0], percentile, confidence)
