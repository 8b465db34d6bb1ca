"""The entry point of a measurement: a workload at some load points, by the engine asked for."""

from __future__ import annotations

import shutil
from typing import Sequence

from pytest_triton.perf.asyncio_engine import AsyncioEngine
from pytest_triton.perf.engine import Engine, MeasurementFailed
from pytest_triton.perf.load import LoadPoint
from pytest_triton.perf.perf_analyzer import NOT_INSTALLED, PerfAnalyzerEngine
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint


def select_engine(endpoint: ServerEndpoint, prefer: str = "auto") -> Engine:
    """ "asyncio", "perf_analyzer", or "auto": perf_analyzer when it is on PATH, else the asyncio generator."""
    if prefer not in ("auto", "asyncio", "perf_analyzer"):
        raise ValueError(f"engine must be auto, asyncio or perf_analyzer, not {prefer!r}")
    binary = shutil.which("perf_analyzer")
    if prefer == "perf_analyzer" and binary is None:
        raise MeasurementFailed(NOT_INSTALLED)
    if prefer != "asyncio" and binary is not None:
        return PerfAnalyzerEngine(endpoint, binary=binary)
    return AsyncioEngine(endpoint)


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
