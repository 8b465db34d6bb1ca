"""How much CPU the client process used over an interval, to tell a slow server from a starved client."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class CpuMark:
    wall: float
    cpu: float

    @staticmethod
    def now() -> "CpuMark":
        # process_time counts every thread of the process (gRPC's own threads too).
        return CpuMark(time.perf_counter(), time.process_time())

    def cores_since(self, earlier: "CpuMark") -> float:
        """Average cores busy between `earlier` and this mark (1.0: one core fully used)."""
        wall = self.wall - earlier.wall
        return (self.cpu - earlier.cpu) / wall if wall > 0 else 0.0
