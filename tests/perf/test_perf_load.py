"""Load points and perf_analyzer-style ranges."""

from __future__ import annotations

import pytest

from pytest_triton.perf.load import Concurrency, RequestRate, concurrency_range, load_from_dict, request_rate_range


def test_concurrency_range_includes_the_end_when_the_step_reaches_it():
    assert concurrency_range("1:4") == (Concurrency(1), Concurrency(2), Concurrency(3), Concurrency(4))
    assert [c.requests for c in concurrency_range("1:16:4")] == [1, 5, 9, 13]
    assert [c.requests for c in concurrency_range("2:8:2")] == [2, 4, 6, 8]
    assert concurrency_range("8") == (Concurrency(8),)


def test_request_rate_range_keeps_the_arrival_process():
    rates = request_rate_range("50:150:50", "poisson")
    assert [r.per_second for r in rates] == [50, 100, 150]
    assert all(r.arrivals == "poisson" for r in rates)
    assert rates[0].label == "r50-poisson"


@pytest.mark.parametrize("spec", ["", "a:b", "4:1", "1:4:0", "1:2:3:4", "1.5:3"])
def test_bad_ranges_are_refused_with_the_range_named(spec):
    with pytest.raises(ValueError) as error:
        concurrency_range(spec)
    assert repr(spec) in str(error.value)


def test_load_points_validate_and_round_trip():
    with pytest.raises(ValueError):
        Concurrency(0)
    with pytest.raises(ValueError):
        RequestRate(10, "bursty")  # type: ignore[arg-type]
    for point in (Concurrency(3), RequestRate(12.5, "poisson")):
        assert load_from_dict(point.to_dict()) == point
