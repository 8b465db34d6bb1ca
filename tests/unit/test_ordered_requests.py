"""ordered_requests: answers in request order whatever order they arrive in, never more in flight than allowed,
and the first error stops what has not started."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_triton.ordered_requests import run_in_order


def test_answers_come_back_in_request_order_with_the_concurrency_bounded():
    lock, in_flight, peak, done = threading.Lock(), [0], [0], []

    def request(index: int) -> int:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02 * (index % 3))  # later requests often finish first
        with lock:
            in_flight[0] -= 1
        return index * index

    assert run_in_order(12, request, 3, done.append) == [i * i for i in range(12)]
    assert peak[0] == 3 and sorted(done) == list(range(12))


def test_the_first_error_is_raised_and_later_requests_never_start():
    started = []

    def request(index: int) -> int:
        started.append(index)
        if index == 1:
            raise RuntimeError("server gone")
        time.sleep(0.05)
        return index

    with pytest.raises(RuntimeError, match="server gone"):
        run_in_order(50, request, 2)
    assert len(started) < 10


def test_nothing_to_send_and_a_bad_concurrency():
    assert run_in_order(0, lambda index: index, 4) == []
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        run_in_order(3, lambda index: index, 0)
