"""GPU memory, utilization and power over a measurement, from scrapes of Triton's metrics endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pytest_triton.server.metrics import ServerMetrics

# Triton's GPU metrics (one series per GPU, labelled by its UUID): bytes, 0..1, watts.
MEMORY, UTILIZATION, POWER = "nv_gpu_memory_used_bytes", "nv_gpu_utilization", "nv_gpu_power_usage"


@dataclass(frozen=True)
class GpuFigures:
    """Summed over the GPUs the server reports, which are all it can see: a GPU another job shares counts its
    memory too. None where the server reports no GPU (a CPU server) or its metrics could not be read."""

    memory_bytes: float | None = None  # the highest of the scrapes
    utilization: float | None = None  # the GPUs' mean, averaged over the scrapes
    power_w: float | None = None  # averaged over the scrapes

    @staticmethod
    def of(scrapes: Sequence[ServerMetrics | None]) -> "GpuFigures":
        read = [s for s in scrapes if s is not None]
        memory = [m for m in (s.total(MEMORY) for s in read) if m is not None]
        utilization = [u for u in (s.mean(UTILIZATION) for s in read) if u is not None]
        power = [p for p in (s.total(POWER) for s in read) if p is not None]
        return GpuFigures(
            memory_bytes=max(memory) if memory else None,
            utilization=sum(utilization) / len(utilization) if utilization else None,
            power_w=sum(power) / len(power) if power else None,
        )
