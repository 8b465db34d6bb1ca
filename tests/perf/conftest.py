"""A real tritonserver (the bundled one) with the calibration models, one per test module that asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest

from pytest_triton.perf.calibration import CalibrationModel, identity_model, sleep_model, work_model
from pytest_triton.perf.calibration.serve import calibration_server as serve
from pytest_triton.repository.policy import BatchingPolicy
from pytest_triton.server.endpoint import ServerEndpoint

# The known answer: 20 ms per batch, long enough that the python backend's ~1 ms overhead stays small.
SLEEP = sleep_model(20, name="sleep20")
# Two requests form one batch at once (preferred size 2); the long queue delay lets the second one arrive.
BATCHING = sleep_model(
    10, name="sleep10_batching", batching=BatchingPolicy(preferred_batch_sizes=(2,), max_queue_delay_us=50_000)
)
IDENTITY = identity_model(name="identity")
# Busy for its whole compute time (about 10 ms here): CPU time, not waiting.
WORK = work_model(20, name="work20")


@dataclass(frozen=True)
class CalibrationServer:
    endpoint: ServerEndpoint
    sleep: CalibrationModel = SLEEP
    batching: CalibrationModel = BATCHING
    identity: CalibrationModel = IDENTITY
    work: CalibrationModel = WORK


@pytest.fixture(scope="module")
def calibration_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalibrationServer]:
    with serve(tmp_path_factory.mktemp("triton"), (SLEEP, BATCHING, IDENTITY, WORK)) as endpoint:
        yield CalibrationServer(endpoint)
