"""Checks over gRPC streams: a decoupled model ends every request with the final flag, and how its responses come
(time to the first, time between them, as genai-perf reports them for LLMs); any other model answers a request sent
over a stream with exactly its one answer to the request sent alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pytest_triton.checks.exchange import streamed
from pytest_triton.checks.parity import differing, identical
from pytest_triton.checks.payload import served_inputs
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import SequenceStep, Streamed, TritonClient


@dataclass(frozen=True)
class StreamTimes:
    """How one request's responses came: seconds to the first response and between responses, and how many."""

    label: str
    responses: int
    first_s: float | None  # None: only the final flag came
    gaps_s: tuple[float, ...]


def streamed_cases(client: TritonClient, deployment: Deployment) -> tuple[list[str], list[StreamTimes]]:
    """Each sample case sent over a gRPC stream: problems (a stall, or a stateless model's answer there that is not
    its answer alone), and the timing of each case's responses."""
    names = [t.name for t in deployment.outputs]
    problems, times = [], []
    with client.sibling("grpc") as grpc:
        for case in deployment.spec.make_samples():
            sequence = SequenceStep.whole() if deployment.kind.sequence else None
            one_row = sequence is not None and deployment.max_batch_size > 0  # the sequence batcher takes one row
            inputs = served_inputs(deployment, case.row(0) if one_row else case.inputs)
            answer = streamed(grpc, deployment, inputs, names, sequence)
            times.append(_times(case.label, answer))
            if not deployment.kind.decoupled:
                alone = grpc.infer(deployment.model_name, inputs, names, sequence=sequence and SequenceStep.whole())
                problems += _one_and_the_same(case.label, answer, alone)
    return problems, times


def _one_and_the_same(label: str, streamed: Streamed, alone: dict[str, np.ndarray]) -> list[str]:
    if len(streamed.responses) != 1:
        return [f"{label}: {len(streamed.responses)} responses over a stream, where the model answers once"]
    (answer,) = streamed.responses
    return [
        f"{label} output {name}: {differing(answer[name], alone[name])} between the stream and a request alone"
        for name in alone
        if not identical(answer[name], alone[name])
    ]


def _times(label: str, streamed: Streamed) -> StreamTimes:
    arrivals = streamed.arrivals_s
    first = arrivals[0] if arrivals else None
    return StreamTimes(label, len(streamed.responses), first, tuple(np.diff(arrivals).tolist()))
