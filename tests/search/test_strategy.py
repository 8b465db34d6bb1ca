"""Brute force and hill climbing over a grid whose figures are known: what each measures, and what it finds."""

from __future__ import annotations

from pytest_triton.search.objective import parse_objective
from pytest_triton.search.results import ConfigResult, rank
from pytest_triton.search.space import Candidate, SearchSpace
from pytest_triton.search.strategy import STRATEGIES, brute, quick
from tests.search.conftest import make_point

SPACE = SearchSpace.bounded((("onnx", "fp32"), ("onnx", "fp16")), 16, None, (0, 100, 500), 4)


def throughput(c: Candidate) -> float:
    """One peak: fp16, max_batch_size 8, 100 µs, 3 instances; lower the further from it."""
    distance = abs(c.max_batch_size.bit_length() - 4) + abs(c.instances - 3) + (c.precision != "fp16")
    distance += 0 if c.queue_delay_us in (100, None) else 1
    return 1000 / (1 + distance)


def walk(strategy, budget: int | None = None):
    measured: list[Candidate] = []

    def evaluate(c: Candidate) -> ConfigResult | None:
        if budget is not None and len(measured) >= budget:
            return None
        measured.append(c)
        return ConfigResult("m", c, (make_point(throughput(c), 5),))

    def order(results):
        return [(r.result.candidate.id, r.score) for r in rank(list(results), parse_objective("throughput"), ())]

    found = strategy(SPACE, evaluate, order)
    best = rank(found, parse_objective("throughput"), ())[0].result.candidate if found else None
    return measured, best


def test_the_registry_has_one_strategy_per_mode():
    from pytest_triton.kinds import SEARCH_MODES

    assert tuple(STRATEGIES) == SEARCH_MODES


def test_brute_measures_the_whole_grid_and_finds_the_peak():
    measured, best = walk(brute)
    assert len(measured) == len(SPACE.candidates()) == 2 * 4 * (1 + 4 * 3)
    assert best == Candidate("onnx", "fp16", 8, 100, 3)


def test_quick_climbs_to_the_same_peak_measuring_a_fraction():
    measured, best = walk(quick)
    assert best == Candidate("onnx", "fp16", 8, 100, 3)
    assert len(measured) == len(set(measured)) < len(SPACE.candidates()) / 3


def test_a_spent_budget_ends_either_walk_with_what_it_measured():
    for strategy in (brute, quick):
        measured, best = walk(strategy, budget=3)
        assert len(measured) == 3 and best is not None
    measured, best = walk(quick, budget=0)
    assert measured == [] and best is None


def test_a_walk_across_ties_never_drifts_below_the_best_reached():
    """Along one axis the figures fall 4% a step: each step is a tie with where the walk stands, but the third is
    more than 5% below the best reached, and the walk stops there, not at the bottom."""
    space = SearchSpace.bounded((("onnx", "fp32"),), 1, None, (100,), 8)
    falling = {c: 1000 * 0.96 ** (c.instances - 1) for c in space.candidates()}
    measured: list[Candidate] = []

    def evaluate(c: Candidate) -> ConfigResult:
        measured.append(c)
        return ConfigResult("m", c, (make_point(falling[c], 5),))

    def order(results):
        return [(r.result.candidate.id, r.score) for r in rank(list(results), parse_objective("throughput"), ())]

    quick(space, evaluate, order)
    assert [c.instances for c in measured] == [1, 2, 3]


def test_outside_the_constraints_the_climb_heads_for_the_closest():
    """Only 4 instances keep p99<=10ms; from 1 instance, every neighbour breaks it, less so the more instances."""
    from pytest_triton.perf.limits import parse_limits
    from pytest_triton.search.run import climb_order

    space = SearchSpace.bounded((("onnx", "fp32"),), 1, None, (100,), 6)
    p99 = {c: 40 / c.instances for c in space.candidates()}
    measured: list[Candidate] = []

    def evaluate(c: Candidate) -> ConfigResult:
        measured.append(c)
        return ConfigResult("m", c, (make_point(100 * c.instances, p99[c]),))

    def order(results):
        return climb_order(rank(list(results), parse_objective("throughput"), parse_limits("p99<=10ms")))

    found = quick(space, evaluate, order)
    best = rank(found, parse_objective("throughput"), parse_limits("p99<=10ms"))[0]
    assert best.eligible and best.result.candidate.instances == 6
