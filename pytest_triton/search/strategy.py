"""How a search walks its space: `brute` measures the whole grid; `quick` climbs from the smallest configuration
to the best of its neighbours until none is better, across ties (Model Analyzer's quick search climbs too, over
max_batch_size, instance count and concurrency)."""

from __future__ import annotations

from typing import Callable, Sequence

from pytest_triton.search.results import ConfigResult
from pytest_triton.search.space import Candidate, SearchSpace

# A candidate's result, from the checkpoint or measured; None once the time budget is spent.
Evaluate = Callable[[Candidate], ConfigResult | None]
# Candidate ids with their scores, best first: search.results.rank's score within the constraints, and below 0 in
# rank order outside them (closer to keeping them is higher), so that a climb from outside has a way to go.
Order = Callable[[Sequence[ConfigResult]], list[tuple[str, float]]]
# Scores within this share of the best reached are a tie the climb walks on across, at most PLATEAU_STEPS times in a
# row. On the 2-core CI machine a strict climb stopped resnext-small at a false summit (two neighbours 0.2% apart)
# at 82.6% of brute's best; with these it reached 98.3%, measuring 14 of 16 (benchmarks/search_quick_vs_brute.py).
# Wider ties would cost a measurement each for little: the same configuration moved by a median 15% between runs.
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
    """Climb to the best neighbour while one is better than the best reached. Where none is, walk on to the best
    neighbour not yet climbed from if it scores within PLATEAU of the best reached, at most PLATEAU_STEPS times in a
    row: on a shared machine two configurations within a few percent are a tie, and a tie must not end the climb
    short of a better region."""
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
        best, peak = ahead[0], max(scores[c.id] for c in climbed)  # ties are judged against the best reached
        if scores[best.id] > peak:
            flat = 0
        elif peak > 0 and scores[best.id] >= peak * (1 - PLATEAU) and flat < PLATEAU_STEPS:
            flat += 1
        else:
            return list(results.values())
        current = best
        climbed.add(current)


# One per kinds.SEARCH_MODES name.
STRATEGIES: dict[str, Callable[[SearchSpace, Evaluate, Order], list[ConfigResult]]] = {"quick": quick, "brute": brute}
