"""Requests with a bounded number in flight, answers in request order: how the accuracy checks run a data set
through any backend (a dynamic batcher sees the requests side by side; a large set is never built all at once)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

Answer = TypeVar("Answer")


def run_in_order(
    count: int, request: Callable[[int], Answer], concurrency: int, done: Callable[[int], object] = lambda _: None
) -> list[Answer]:
    """`request(0)` .. `request(count - 1)` with up to `concurrency` in flight; `done(i)` as each answer arrives.
    The first error is raised, and requests not yet started are cancelled."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    answers: dict[int, Answer] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ordered-request") as pool:
        in_flight: dict[Future[Answer], int] = {}
        try:
            while len(answers) < count:
                while len(answers) + len(in_flight) < count and len(in_flight) < concurrency:
                    index = len(answers) + len(in_flight)
                    in_flight[pool.submit(request, index)] = index
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = in_flight.pop(future)
                    answers[index] = future.result()
                    done(index)
        finally:
            for future in in_flight:
                future.cancel()
    return [answers[index] for index in range(count)]
