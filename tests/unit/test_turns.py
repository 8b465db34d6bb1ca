"""Turns: the lock is on open files, so two Turns in two threads behave as two xdist workers do."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_triton.turns import Turns

WAIT_S = 10.0


def _run(*targets) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a turn was never given"


def test_work_shares_the_machine(tmp_path):
    both_in = threading.Barrier(2, timeout=WAIT_S)

    def work() -> None:
        with Turns(tmp_path / "t").shared():
            both_in.wait()  # breaks (BrokenBarrierError in the thread) unless both hold their turn at once

    _run(work, work)
    assert not both_in.broken


def test_a_measurement_waits_for_work_and_work_waits_for_it(tmp_path):
    events: list[str] = []
    working = threading.Event()

    def work() -> None:
        with Turns(tmp_path / "t").shared():
            working.set()
            time.sleep(0.3)
            events.append("work done")

    def measure() -> None:
        working.wait(WAIT_S)
        with Turns(tmp_path / "t").alone():
            events.append("measuring")
            time.sleep(0.3)
            events.append("measured")

    def late_work() -> None:
        working.wait(WAIT_S)
        time.sleep(0.1)  # arrives after the measurement began to wait: it must not slip in ahead of it
        with Turns(tmp_path / "t").shared():
            events.append("late work")

    _run(work, measure, late_work)
    assert events == ["work done", "measuring", "measured", "late work"]


def test_two_workers_measuring_from_inside_their_work_take_turns(tmp_path):
    inside = 0
    most = 0
    guard = threading.Lock()
    both_working = threading.Barrier(2, timeout=WAIT_S)

    def worker() -> None:
        nonlocal inside, most
        turns = Turns(tmp_path / "t")
        with turns.shared():
            both_working.wait()
            with turns.alone():
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.2)
                with guard:
                    inside -= 1
            assert turns._held == "shared"  # back to work after measuring

    _run(worker, worker)
    assert most == 1


def test_a_stuck_neighbour_is_warned_about_once_and_not_waited_for_again(tmp_path, recwarn):
    holder = Turns(tmp_path / "t")
    waiting = Turns(tmp_path / "t", timeout_s=0.5)
    with holder.alone():
        with pytest.warns(UserWarning, match="waited 0 s for a turn.*going on without turns from now on"):
            with waiting.shared():
                pass
        began = time.monotonic()
        with waiting.alone():  # no second wait of the timeout, no second warning
            pass
        assert time.monotonic() - began < 0.4
    assert not recwarn.list
    with waiting.alone():  # free now: taken at once
        assert waiting._held == "alone"
