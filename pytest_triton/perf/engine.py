"""The measuring engines' common shape, so a suite can use perf_analyzer where it exists and asyncio elsewhere.

Imports no engine: the engines import this module, and perf.measure picks one.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from pytest_triton.errors import TritonPluginError
from pytest_triton.perf.load import LoadPoint
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload


class MeasurementFailed(TritonPluginError):
    """No measurement could be taken (every request failed, the tool crashed); the message says why."""


class Engine(Protocol):
    name: str

    def measure(
        self, workload: Workload, points: Sequence[LoadPoint], settings: MeasurementSettings
    ) -> list[Measurement]:
        """One Measurement per load point, in the order given."""
