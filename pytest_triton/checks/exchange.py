"""Sending a request to a deployment the way its kind wants it, so that every check is written once for every kind.

A stateless model or an ensemble takes the request as it is. A sequence model takes each row as a sequence of one
step under a correlation ID of its own (the sequence batcher takes one row a request). A decoupled model takes it
over a gRPC stream and answers with any number of responses, then the final flag; one that stalls fails the check
that asked, saying so, instead of hanging it."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from pytest_triton.errors import CheckFailed
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import SequenceStep, Streamed, TritonClient, new_sequence_id

# The stall of each decoupled model found stalled, by name: raised again at once, so that one cause fails one test
# (the later ones skip, pointing at it) and the stream timeout is waited out once.
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
        per_row = [answers(client, deployment, row, names, SequenceStep(new_sequence_id(), True, True)) for row in rows]
        return [_joined([row[0] for row in per_row], names)] if len(rows) > 1 else per_row[0]
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
    """The request's responses over a gRPC stream, ended by the final flag; else CheckFailed naming the stall (the
    same error again, at once, for every later request to a model that stalled)."""
    if deployment.model_name in _STALLED:
        raise _STALLED[deployment.model_name]
    answer = client.stream(deployment.model_name, inputs, names, sequence)
    if not answer.final:
        raise _STALLED.setdefault(
            deployment.model_name,
            CheckFailed(
                f"{deployment.model_name}: the stream sent {len(answer.responses)} response(s) and then nothing for "
                f"{answer.timeout_s:g} s, without the final flag: a decoupled model must end every request with "
                "TRITONSERVER_RESPONSE_COMPLETE_FINAL (--triton-stream-timeout sets how long to wait)"
            ),
        )
    return answer


def _rows(deployment: Deployment, inputs: Mapping[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """A batching model's request as requests of one row each; a model that does not batch sends it whole."""
    if deployment.max_batch_size == 0:
        return [dict(inputs)]
    batch = len(next(iter(inputs.values())))
    return [{name: array[r : r + 1] for name, array in inputs.items()} for r in range(batch)]


def _joined(rows: list[dict[str, np.ndarray]], names: Sequence[str]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([row[name] for row in rows]) for name in names}
