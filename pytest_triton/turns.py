"""Turns across the processes of one run: work shares the machine, a measurement has it to itself.

Under xdist every worker exports, serves and checks at once; a throughput measured beside that measures the
neighbours (two workers measuring at once on two cores recorded 24 of 32 configurations, the rest never stable).
A readers-writer lock on a file: work holds it shared, a measurement alone. A waiting measurement first takes a
turnstile that new sharers pass through, so a stream of short tests cannot starve it.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
import warnings
from pathlib import Path
from typing import IO, Iterator, Literal

TURN_TIMEOUT_S = 1800.0  # the longest anything waits for a turn: longer than any one test takes
_POLL_S = 0.05


class Turns:
    """One process's turns on the lock files under `prefix` (several processes pass the same prefix)."""

    def __init__(self, prefix: Path, timeout_s: float = TURN_TIMEOUT_S) -> None:
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._held: Literal["shared", "alone"] | None = None
        # After one wait ran out, turns are taken only where free at once: a stuck neighbour would otherwise cost
        # the timeout again at every later turn, and hold the turnstile, and so every other worker, meanwhile.
        self._gave_up = False
        self._lock: IO[str] | None = None
        self._turnstile: IO[str] | None = None

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Work that may run beside other work, never beside a measurement. Re-entrant."""
        if self._held is not None:
            yield
            return
        taken = self._take("shared")
        try:
            yield
        finally:
            if taken:
                self._release()

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        """A measurement: waits until no other process works or measures. Inside shared(), the shared turn is
        given up while waiting (two sharers that both wait to be alone would otherwise wait for each other)
        and taken again after."""
        before = self._held
        if before == "alone":
            yield
            return
        if before == "shared":
            self._release()
        taken = self._take("alone")
        try:
            yield
        finally:
            if taken:
                self._release()
            if before == "shared":
                self._take("shared")

    def _take(self, how: Literal["shared", "alone"]) -> bool:
        """Whether the turn was taken; a neighbour stuck past the timeout is warned about and not waited for."""
        if self._lock is None or self._turnstile is None:
            self.prefix.parent.mkdir(parents=True, exist_ok=True)
            self._turnstile = open(f"{self.prefix}.turnstile", "a")  # noqa: SIM115 - held for the process's life
            self._lock = open(f"{self.prefix}.lock", "a")  # noqa: SIM115
        deadline = time.monotonic() + (0.0 if self._gave_up else self.timeout_s)
        try:
            self._flock(self._turnstile, fcntl.LOCK_EX, deadline)
            try:
                self._flock(self._lock, fcntl.LOCK_EX if how == "alone" else fcntl.LOCK_SH, deadline)
            finally:
                fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        except TimeoutError as error:
            if not self._gave_up:
                warnings.warn(f"{error}; going on without turns from now on", stacklevel=2)
            self._gave_up = True
            return False
        self._held = how
        return True

    def _release(self) -> None:
        assert self._lock is not None
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._held = None

    def _flock(self, file: IO[str], operation: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(file, operation | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"waited {self.timeout_s:.0f} s for a turn at {file.name}") from None
                time.sleep(_POLL_S)

    def close(self) -> None:
        for file in (self._lock, self._turnstile):
            if file is not None:
                file.close()
        self._lock = self._turnstile = None
        self._held = None
