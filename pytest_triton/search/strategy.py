"""How a search walks its space: `brute` measures the whole grid; `quick` climbs from the smallest configuration
to the best of its neighbours until none is better (Model Analyzer's quick search climbs the same way, over
max_batch_size, instance count and concurrency)."""

from __future__ import annotations

from typing import Callable, Sequence

from pytest_triton.search.results import ConfigResult
from pytest_triton.search.space import Candidate, SearchSpace

# A candidate's result, from the checkpoint or measured; None once the time budget is spent.
Evaluate = Callable[[Candidate], ConfigResult | None]
# Candidate ids with their scores, best first (search.results.rank within the constraints; 0 outside them).
Order = Callable[[Sequence[ConfigResult]], list[tuple[str, float]]]
# Scores within this share of each other are a tie on a shared machine: configurations measured twice moved by
# 5-10% on the 2-core CI machine (benchmarks/search_quick_vs_brute.py).
PLATEAU = 0.05
PLATEAU_STEPS = 2


def brute(space: SearchSpace, evaluate: Evaluate, order: Order) -> list[ConfigResult]:
    results = []
    for candidate in space.candidates():
        result = evaluate(candidate)
        if result is None:
            break
        results.append(result)
    return results


def quick(space: SearchSpace, evaluate: Evaluate, order: Order) -> list[ConfigResult]:
    """Climb to the best neighbour while one is better. Where none is, walk on to the best neighbour not yet
    climbed from if it scores within PLATEAU of here, at most PLATEAU_STEPS times in a row: on a shared machine
    two configurations within a few percent are a tie, and a tie must not end the climb short of a better region."""
    current = space.start()
    first = evaluate(current)
    if first is None:
        return []
    results = {current: first}
    climbed = {current}
    flat = 0
    while True:
        for neighbour in space.neighbours(current):
            if neighbour not in results:
                result = evaluate(neighbour)
                if result is None:
                    return list(results.values())
                results[neighbour] = result
        scores = dict(order(list(results.values())))
        ahead = sorted(
            (c for c in space.neighbours(current) if c not in climbed), key=lambda c: scores[c.id], reverse=True
        )
        if not ahead:
            return list(results.values())
        best, here = ahead[0], scores[current.id]
        if scores[best.id] > here:
            flat = 0
        elif here > 0 and scores[best.id] >= here * (1 - PLATEAU) and flat < PLATEAU_STEPS:
            flat += 1
        else:
            return list(results.values())
        current = best
        climbed.add(current)


# One per kinds.SEARCH_MODES name.
STRATEGIES: dict[str, Callable[[SearchSpace, Evaluate, Order], list[ConfigResult]]] = {"quick": quick, "brute": brute}
