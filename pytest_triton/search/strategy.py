"""How a search walks its space: `brute` measures the whole grid; `quick` climbs from the smallest configuration
to the best of its neighbours until none is better (Model Analyzer's quick search climbs the same way, over
max_batch_size, instance count and concurrency)."""

from __future__ import annotations

from typing import Callable, Sequence

from pytest_triton.search.results import ConfigResult
from pytest_triton.search.space import Candidate, SearchSpace

# A candidate's result, from the checkpoint or measured; None once the time budget is spent.
Evaluate = Callable[[Candidate], ConfigResult | None]
# Candidate ids, best first (search.results.rank within the constraints).
Order = Callable[[Sequence[ConfigResult]], list[str]]


def brute(space: SearchSpace, evaluate: Evaluate, order: Order) -> list[ConfigResult]:
    results = []
    for candidate in space.candidates():
        result = evaluate(candidate)
        if result is None:
            break
        results.append(result)
    return results


def quick(space: SearchSpace, evaluate: Evaluate, order: Order) -> list[ConfigResult]:
    current = space.start()
    first = evaluate(current)
    if first is None:
        return []
    results = {current: first}
    while True:
        for neighbour in space.neighbours(current):
            if neighbour not in results:
                result = evaluate(neighbour)
                if result is None:
                    return list(results.values())
                results[neighbour] = result
        nearby = {c.id: c for c in (current, *space.neighbours(current))}
        best = next(nearby[id_] for id_ in order(list(results.values())) if id_ in nearby)
        if best == current:
            return list(results.values())
        current = best


# One per kinds.SEARCH_MODES name.
STRATEGIES: dict[str, Callable[[SearchSpace, Evaluate, Order], list[ConfigResult]]] = {"quick": quick, "brute": brute}
