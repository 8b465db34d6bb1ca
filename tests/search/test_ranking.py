"""Objectives, constraints and the ranking they make: the best point within the constraints, the closest outside."""

from __future__ import annotations

import pytest

from pytest_triton.perf.limits import parse_limits
from pytest_triton.search.objective import parse_objective
from pytest_triton.search.results import ConfigResult, rank
from pytest_triton.search.space import Candidate


def result(instances: int, *points, problem: str = "") -> ConfigResult:
    return ConfigResult("m", Candidate("onnx", "fp32", 1, None, instances), tuple(points), 1.0, problem)


def test_throughput_ranks_by_the_best_point_of_each_configuration(point):
    slow = result(1, point(100, 5, 1), point(150, 9, 2))
    fast = result(2, point(120, 5, 1), point(240, 8, 2), point(250, 30, 4))
    ranked = rank([slow, fast], parse_objective("throughput"), ())
    assert [r.result for r in ranked] == [fast, slow]
    assert ranked[0].point.throughput == 250 and ranked[0].eligible
    assert ranked[0].score == pytest.approx(1.0) and ranked[1].score == pytest.approx(150 / 250)


def test_a_latency_budget_picks_the_best_point_within_it(point):
    slow = result(1, point(100, 5, 1), point(150, 9, 2))
    fast = result(2, point(120, 5, 1), point(240, 8, 2), point(250, 30, 4))
    ranked = rank([slow, fast], parse_objective("throughput"), parse_limits("p99<=10ms"))
    assert ranked[0].result is fast and ranked[0].point.throughput == 240  # concurrency 4 broke the budget


def test_lower_is_better_for_latency_and_memory_objectives(point):
    quick = result(1, point(100, 4, 1, rss=900))
    lean = result(2, point(100, 6, 1, rss=300))
    assert rank([lean, quick], parse_objective("p99"), ())[0].result is quick
    assert rank([quick, lean], parse_objective("memory"), ())[0].result is lean


def test_weights_mix_figures_relative_to_the_best_of_each(point):
    a = result(1, point(200, 20, 1))  # throughput 1.0, p99 0.5 of the best
    b = result(2, point(150, 10, 1))  # throughput 0.75, p99 1.0
    assert rank([a, b], parse_objective("throughput=3,p99=1"), ())[0].result is a  # 0.875 against 0.8125
    assert rank([a, b], parse_objective("throughput=1,p99=1"), ())[0].result is b  # 0.75 against 0.875


def test_configurations_outside_the_constraints_come_closest_first_with_what_they_broke(point):
    near = result(1, point(90, 11, 1))
    far = result(2, point(50, 40, 1))
    broken = result(3, point(500, 1, 1), problem="3 of 12 answers checked under load were wrong")
    ranked = rank([far, broken, near], parse_objective("throughput"), parse_limits("p99<=10ms,throughput>=80/s"))
    assert [r.result for r in ranked] == [near, far, broken]
    assert not any(r.eligible for r in ranked)
    assert ranked[0].broken == ("m-onnx-fp32-mb1-nodb-i1/c1: p99<=10ms broken: measured 11 ms",)
    assert len(ranked[1].broken) == 2
    assert ranked[2].broken == ("3 of 12 answers checked under load were wrong",)


def test_a_constraint_may_name_the_configurations_it_is_for(point):
    one = result(1, point(300, 30, 1))
    two = result(2, point(200, 5, 1))
    assert (
        rank([one, two], parse_objective("throughput"), parse_limits("m-onnx-fp32-mb1-nodb-i1:p99<=10ms"))[0].result
        is two
    )


@pytest.mark.parametrize(
    "text, says",
    [
        ("speed", "unknown objective 'speed'; valid choices: throughput, avg, p50, p90, p95, p99, memory"),
        ("throughput=0", "weight of throughput must be a positive number"),
        ("throughput=fast", "weight of throughput must be a positive number"),
        ("throughput=inf", "weight of throughput must be a positive number"),
        ("p99,p99=2", "p99 is weighted twice"),
    ],
)
def test_an_unknown_objective_names_the_valid_choices(text, says):
    with pytest.raises(ValueError, match=says):
        parse_objective(text)


def test_objective_text_reads_back():
    assert parse_objective("throughput").text == "throughput"
    assert parse_objective("throughput=2,p99=1").text == "throughput=2,p99=1"
