"""Jobs run at once, a thread and a client each, meeting wherever they must act together (requests sent at the same
moment, a sequence's next step): what the concurrency checks share."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

from pytest_triton.errors import CheckFailed

T = TypeVar("T")
Meet = Callable[[], object]  # waits until every job has reached the same point


def in_lockstep(jobs: Sequence[Callable[[Meet], T]], timeout_s: float, who: str) -> list[T]:
    """Each job's result, in order. A job calls the `meet` it is given wherever all must meet. The first error a job
    raised is raised again (the others stop waiting at once); where they did not all meet within `timeout_s`,
    CheckFailed saying that `who` did not."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[Meet], T]) -> T:
        try:
            return job(lambda: barrier.wait(timeout_s))
        except BaseException:
            barrier.abort()  # the others stop waiting; the first error is the one reported
            raise

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
    errors = [error for error in (future.exception() for future in futures) if error is not None]
    causes = [error for error in errors if not isinstance(error, threading.BrokenBarrierError)]
    if causes:
        raise causes[0]
    if errors:
        raise CheckFailed(f"{who} within {timeout_s:.0f} s")
    return [future.result() for future in futures]
