"""Cold start: how long a model took to load, and how its first requests fared against the ones after.

A model that loads slower, or whose first requests pay for lazy initialisation (allocators, kernel selection,
graph optimisation), regresses here while its steady-state figures stay the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pytest_triton.baselines.entry import BaselineEntry
from pytest_triton.errors import Unsupported
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.workload import Workload
from pytest_triton.server.client import SequenceStep, TritonClient, new_sequence_id

FIRST_REQUESTS = 10  # the first request and the nine after it
# Loading is disk, imports and process start, and a cold start happens once, so it cannot be re-measured before a
# regression is called: wide until unchanged runs say how far these move.
COLD_TOLERANCES = {"load_time": 0.50, "first_response": 0.50, "first_requests": 0.50}
_UNITS = {"load_time": "s", "first_response": "us", "first_requests": "us"}


@dataclass(frozen=True)
class ColdStart:
    load_s: float | None  # the load request, files in place to READY; None for a model someone else loaded
    first_response_us: float  # the first request the model ever served
    first_requests_us: float  # the mean of its first FIRST_REQUESTS requests, the first included

    def entries(self) -> dict[str, BaselineEntry]:
        """Baseline entries (lower is better); the load time only where this run loaded the model."""
        values = {"load_time": self.load_s, "first_response": self.first_response_us}
        values["first_requests"] = self.first_requests_us
        return {
            name: BaselineEntry(value=value, unit=_UNITS[name], direction="lower", tolerance=COLD_TOLERANCES[name])
            for name, value in values.items()
            if value is not None
        }


def first_requests(
    client: TritonClient, workload: Workload, load_s: float | None, warmup_inferences: int = 0
) -> ColdStart:
    """Send the model its first requests, one at a time, and time them. Unsupported where the model has served a
    request already, besides the `warmup_inferences` its model_warmup ran at load: its cold start is gone."""
    if client.statistics(workload.model).inference_count > warmup_inferences:
        raise Unsupported(f"{workload.model} has served requests already: its first ones cannot be timed")
    from tritonclient.utils import InferenceServerException

    latencies = []
    sequence_id = new_sequence_id() if workload.sequence_length else 0  # a sequence model's: one sequence
    for index in range(FIRST_REQUESTS):
        began = time.perf_counter()
        step = SequenceStep.at(sequence_id, index, FIRST_REQUESTS) if sequence_id else None
        try:
            client.infer(workload.model, workload.request(index), workload.outputs, sequence=step)
        except InferenceServerException as error:
            raise MeasurementFailed(
                f"request {index + 1} to a freshly loaded {workload.model} failed: {error}"
            ) from None
        latencies.append((time.perf_counter() - began) * 1e6)
    return ColdStart(load_s, latencies[0], sum(latencies) / len(latencies))
