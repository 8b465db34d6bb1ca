"""Sending a request to a deployment the way its kind wants it, so that every check is written once for every kind.

A stateless model or an ensemble takes the request as it is. A sequence model takes each row as a sequence of one
step under a correlation ID of its own (the sequence batcher takes one row a request). A decoupled model takes it
over a gRPC stream and answers with any number of responses, then the final flag; one that stalls fails the check
that asked, saying so, instead of hanging it."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import REQUEST_TIMEOUT_S, SequenceStep, Streamed, TritonClient

# The stall of each decoupled model found stalled, by name: raised again at once, so that one cause fails one test
# (the later ones skip, pointing at it) and the stream timeout is waited out once. A model is loaded once a run.
_STALLED: dict[str, CheckFailed] = {}


def answers(
    client: TritonClient,
    deployment: Deployment,
    inputs: Mapping[str, np.ndarray],
    names: Sequence[str],
    sequence: SequenceStep | None = None,
) -> list[dict[str, np.ndarray]]:
    """The deployment's responses to one request: one, except from a decoupled model. A sequence model's request
    without a `sequence` step is sent row by row, each row a sequence of one step, and its answers joined by row.
    Raises InferenceServerException where the server refuses it."""
    kind = deployment.kind
    if kind.sequence is not None and sequence is None:
        rows = _rows(deployment, inputs)
        per_row = [answers(client, deployment, row, names, SequenceStep.whole()) for row in rows]
        return [joined(deployment, [joined(deployment, row) for row in per_row])] if len(rows) > 1 else per_row[0]
    if kind.decoupled:
        return list(streamed(client, deployment, inputs, names, sequence).responses)
    return [client.infer(deployment.model_name, inputs, names, sequence=sequence)]


def streamed(
    client: TritonClient,
    deployment: Deployment,
    inputs: Mapping[str, np.ndarray],
    names: Sequence[str],
    sequence: SequenceStep | None = None,
) -> Streamed:
    """The request's responses over a gRPC stream (the server's gRPC address where `client` speaks HTTP), ended by
    the final flag; else CheckFailed naming the stall (the same error again, at once, for every later request to a
    model that stalled). Unsupported where the server's gRPC address is not known."""
    if deployment.model_name in _STALLED:
        raise _STALLED[deployment.model_name]
    if client.protocol != "grpc":
        if "grpc" not in client.endpoint.protocols:
            raise Unsupported(f"{deployment.model_name} streams its answers, over gRPC only: no gRPC address is known")
        with client.sibling("grpc") as grpc:
            return streamed(grpc, deployment, inputs, names, sequence)
    answer = client.stream(deployment.model_name, inputs, names, sequence)
    if not answer.final:
        raise _STALLED.setdefault(
            deployment.model_name,
            CheckFailed(
                f"{deployment.model_name}: the stream sent {len(answer.responses)} response(s) without the final flag, "
                f"then nothing for {answer.timeout_s:g} s or none within {REQUEST_TIMEOUT_S:g} s in all: a decoupled "
                "model must end every request with TRITONSERVER_RESPONSE_COMPLETE_FINAL (--triton-stream-timeout "
                "sets how long to wait between responses)"
            ),
        )
    return answer


def joined(deployment: Deployment, responses: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One answer of a request's responses: the one, or several joined in order along the first axis."""
    if len(responses) == 1:
        return responses[0]
    if not responses:
        raise CheckFailed(f"model '{deployment.model_name}' ended the request without a response holding outputs")
    return {name: np.concatenate([response[name] for response in responses]) for name in responses[0]}


def _rows(deployment: Deployment, inputs: Mapping[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """A batching model's request as requests of one row each; a model that does not batch sends it whole."""
    if deployment.max_batch_size == 0:
        return [dict(inputs)]
    batch = len(next(iter(inputs.values())))
    return [{name: array[r : r + 1] for name, array in inputs.items()} for r in range(batch)]
