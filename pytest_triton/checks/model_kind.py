"""A deployment served as what its config says it is: a sequence model refuses requests outside a sequence, a
decoupled model ends every stream, an ensemble equals its steps run in turn, and any model answers over a gRPC
stream as it answers alone."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_triton.checks.conformance import ConformanceResult
from pytest_triton.checks.ensembles import composition_problems
from pytest_triton.checks.sequences import sequence_refusals
from pytest_triton.checks.streams import StreamTimes, streamed_cases
from pytest_triton.errors import Unsupported
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient


@dataclass(frozen=True)
class KindResult:
    """What the kind's checks found, how each sample case's responses came over a stream, and what was left
    unchecked with the reason."""

    result: ConformanceResult
    times: tuple[StreamTimes, ...]
    not_checked: tuple[str, ...]


def kind_contract(client: TritonClient, deployment: Deployment) -> KindResult:
    """Every check the deployment's kind calls for. Unsupported for a decoupled model on a server whose gRPC
    address is not known (only gRPC streams)."""
    kind, problems, not_checked = deployment.kind, [], []
    times: list[StreamTimes] = []
    has_grpc = "grpc" in client.endpoint.protocols
    if kind.decoupled and not has_grpc:
        raise Unsupported(f"{deployment.model_name} is decoupled, and only gRPC streams: no gRPC address is known")
    if kind.sequence is not None:
        problems += sequence_refusals(client, deployment)
    if has_grpc:
        streamed, times = streamed_cases(client, deployment)
        problems += streamed
    else:
        not_checked.append("answers over a gRPC stream: no gRPC address is known")
    if kind.steps:
        try:
            problems += composition_problems(client, deployment)
        except Unsupported as reason:
            not_checked.append(f"the composition of its steps: {reason}")
    result = ConformanceResult(deployment.model_name, f"served as a {kind.describe()} model", tuple(problems))
    return KindResult(result, tuple(times), tuple(not_checked))
