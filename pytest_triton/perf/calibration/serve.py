"""A bundled tritonserver on this machine serving calibration models: for the library's own tests, the
benchmarks, and a suite's self-check of the measuring setup."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from pytest_triton.perf.calibration import CalibrationModel
from pytest_triton.repository.store import ModelRepository
from pytest_triton.server.bundled import bundled_installation
from pytest_triton.server.client import TritonClient
from pytest_triton.server.endpoint import ServerEndpoint
from pytest_triton.server.local import LocalServer


@contextmanager
def calibration_server(work_dir: Path, models: Sequence[CalibrationModel]) -> Iterator[ServerEndpoint]:
    """Start the bundled server under `work_dir`, load `models`, yield its endpoint; stop it on exit."""
    server = LocalServer(bundled_installation(work_dir), work_dir / "repository", work_dir / "logs")
    endpoint = server.start()
    try:
        with TritonClient(endpoint, "grpc") as client:
            repository = ModelRepository(client, work_dir / "repository")
            for model in models:
                model.place(repository)
        yield endpoint
    finally:
        server.stop()
