"""Performance measurement: a load generator (or perf_analyzer), calibration models, typed results."""

from __future__ import annotations

from typing import Sequence

from pytest_triton.perf.baseline_entries import DEFAULT_TOLERANCES, measurement_entries
from pytest_triton.perf.engine import Engine, MeasurementFailed, select_engine
from pytest_triton.perf.judge import judge
from pytest_triton.perf.load import Concurrency, LoadPoint, RequestRate, concurrency_range, request_rate_range
from pytest_triton.perf.results import METRICS, LatencyBreakdown, LatencyStats, Measurement, WindowResult
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload, synthetic_workload
from pytest_triton.server.endpoint import ServerEndpoint


def measure(
    endpoint: ServerEndpoint,
    workload: Workload,
    points: Sequence[LoadPoint],
    settings: MeasurementSettings = MeasurementSettings(),
    engine: str | Engine = "asyncio",
) -> list[Measurement]:
    """One Measurement per load point. `engine`: "asyncio" (default, so baselines never mix engines),
    "perf_analyzer", "auto", or an Engine instance."""
    chosen = select_engine(endpoint, engine) if isinstance(engine, str) else engine
    return chosen.measure(workload, points, settings)


__all__ = [
    "DEFAULT_TOLERANCES",
    "METRICS",
    "Concurrency",
    "Engine",
    "LatencyBreakdown",
    "LatencyStats",
    "LoadPoint",
    "Measurement",
    "MeasurementFailed",
    "MeasurementSettings",
    "RequestRate",
    "WindowResult",
    "Workload",
    "concurrency_range",
    "judge",
    "measure",
    "measurement_entries",
    "request_rate_range",
    "select_engine",
    "synthetic_workload",
]
