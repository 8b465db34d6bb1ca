"""The entry point of a measurement: a workload at some load points, by the engine asked for."""

from __future__ import annotations

from typing import Sequence

from pytest_triton.perf.engine import Engine, select_engine
from pytest_triton.perf.load import LoadPoint
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
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
