"""The measuring engines' common shape, so a suite can use perf_analyzer where it exists and asyncio elsewhere."""

from __future__ import annotations

import shutil
from typing import Protocol, Sequence

from pytest_triton.errors import TritonPluginError
from pytest_triton.perf.load import LoadPoint
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint


class MeasurementFailed(TritonPluginError):
    """No measurement could be taken (every request failed, the tool crashed); the message says why."""


class Engine(Protocol):
    name: str

    def measure(
        self, workload: Workload, points: Sequence[LoadPoint], settings: MeasurementSettings
    ) -> list[Measurement]:
        """One Measurement per load point, in the order given."""


def select_engine(endpoint: ServerEndpoint, prefer: str = "auto") -> Engine:
    """"asyncio", "perf_analyzer", or "auto": perf_analyzer when it is on PATH, else the asyncio generator."""
    from pytest_triton.perf.asyncio_engine import AsyncioEngine
    from pytest_triton.perf.perf_analyzer import NOT_INSTALLED, PerfAnalyzerEngine

    if prefer not in ("auto", "asyncio", "perf_analyzer"):
        raise ValueError(f"engine must be auto, asyncio or perf_analyzer, not {prefer!r}")
    binary = shutil.which("perf_analyzer")
    if prefer == "perf_analyzer" and binary is None:
        raise MeasurementFailed(NOT_INSTALLED)
    if prefer != "asyncio" and binary is not None:
        return PerfAnalyzerEngine(endpoint, binary=binary)
    return AsyncioEngine(endpoint)
