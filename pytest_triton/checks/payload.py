"""Requests for a deployment built from a spec's sample inputs, the reference answers to them, and how far apart
the two are."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

import numpy as np

from pytest_triton.checks.exchange import answers, joined
from pytest_triton.checks.parity import ParityResult, compare
from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.errors import CheckFailed
from pytest_triton.models.spec import ModelSpec, SampleCase, Tolerance
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import SequenceStep, TritonClient

if TYPE_CHECKING:  # torch is imported where a reference runs: served models are checked without it
    import torch


def served_inputs(deployment: Deployment, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Spec-named arrays renamed and cast to what the deployment takes (names and dtypes may differ)."""
    return {
        served.name: np.ascontiguousarray(arrays[spec.name].astype(served.dtype))
        for spec, served in zip(deployment.spec.inputs, deployment.inputs)
    }


def spec_answers(
    client: TritonClient,
    deployment: Deployment,
    arrays: Mapping[str, np.ndarray],
    sequence: SequenceStep | None = None,
) -> list[dict[str, np.ndarray]]:
    """The deployment's responses to spec-named inputs (one, except from a decoupled model), under the spec's output
    names; `sequence`: a step of a sequence (see exchange.answers)."""
    names = [t.name for t in deployment.outputs]
    served = answers(client, deployment, served_inputs(deployment, arrays), names, sequence)
    return [spec_outputs(deployment, answer) for answer in served]


def infer_spec_named(
    client: TritonClient, deployment: Deployment, arrays: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The deployment's answer to spec-named inputs, under the spec's output names; a decoupled model's responses
    joined in order along the first axis."""
    return joined(deployment, spec_answers(client, deployment, arrays))


def own_answers(
    client: TritonClient,
    deployment: Deployment,
    arrays: Mapping[str, np.ndarray],
    what: str = "a request of its own samples",
    sequence: SequenceStep | None = None,
) -> list[dict[str, np.ndarray]]:
    """spec_answers, where the server's refusal becomes CheckFailed naming the request and the shapes sent (which
    say, for one, a hidden size other than the deployment's)."""
    from tritonclient.utils import InferenceServerException

    try:
        return spec_answers(client, deployment, arrays, sequence)
    except InferenceServerException as refused:
        sent = ", ".join(f"{name} {a.dtype}{list(a.shape)}" for name, a in served_inputs(deployment, arrays).items())
        raise CheckFailed(f"model '{deployment.model_name}' refused {what} ({sent}): {refused.message()}") from None


def own_answer(
    client: TritonClient,
    deployment: Deployment,
    arrays: Mapping[str, np.ndarray],
    what: str = "a request of its own samples",
) -> dict[str, np.ndarray]:
    """own_answers joined as infer_spec_named joins them."""
    return joined(deployment, own_answers(client, deployment, arrays, what))


def spec_outputs(deployment: Deployment, served: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Served outputs under the spec's names, for comparison with the reference."""
    return {spec.name: served[out.name] for spec, out in zip(deployment.spec.outputs, deployment.outputs)}


def reference_outputs(
    module: torch.nn.Module, spec: ModelSpec, arrays: Mapping[str, np.ndarray], device: str
) -> dict[str, np.ndarray]:
    """The eager fp32 module's answer, computed on `device`."""
    import torch

    module = module.to(device)
    with torch.no_grad():
        outputs = module(*(torch.from_numpy(arrays[t.name]).to(device) for t in spec.inputs))
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    return {t.name: o.float().cpu().numpy() for t, o in zip(spec.outputs, outputs)}


Expected = list[tuple[SampleCase, dict[str, np.ndarray]]]  # each sample case with the outputs it must give
T = TypeVar("T")


def timed_twice(run: Callable[[], T]) -> tuple[T, float]:
    """The first run's answer, and the faster run's milliseconds: the first may pay for a warm-up."""
    start = time.perf_counter()
    answer = run()
    first = time.perf_counter() - start
    start = time.perf_counter()
    run()
    return answer, min(first, time.perf_counter() - start) * 1e3


@dataclass(frozen=True)
class ReferenceRun:
    """Every sample case with the eager module's answer to it, and each answer's milliseconds by case label."""

    expected: Expected
    milliseconds: dict[str, float]


def reference_cases(module: torch.nn.Module, spec: ModelSpec, device: str) -> ReferenceRun:
    """Every sample case of the spec with the eager module's answer to it, timed (FasterTransformer's identity test
    reports execution time beside the differences)."""
    expected, milliseconds = [], {}
    for case in spec.make_samples():
        outputs, milliseconds[case.label] = timed_twice(lambda: reference_outputs(module, spec, case.inputs, device))
        expected.append((case, outputs))
    return ReferenceRun(expected, milliseconds)


def spec_tolerances(deployment: Deployment, tolerances: Tolerances) -> dict[str, Tolerance]:
    """Each output's tolerance at the deployment's precision: the command line's, else the spec's, else the
    precision's."""
    spec = deployment.spec
    return {t.name: tolerances.for_output(deployment.precision, t.name, spec.tolerances) for t in spec.outputs}


def parity_diffs(
    client: TritonClient,
    deployment: Deployment,
    expected: Expected,
    tolerances: Mapping[str, Tolerance],
    against: str = "the eager fp32 reference",
) -> ParityResult:
    """Every case sent to the deployment (twice, to time it) and its outputs compared with the expected ones, each
    under its tolerance; CheckFailed where an output cannot be compared at all."""
    found, milliseconds = [], {}
    for case, outputs in expected:
        request = f"sample case {case.label}"
        served, milliseconds[case.label] = timed_twice(lambda: own_answer(client, deployment, case.inputs, request))
        diffs = compare(served, outputs, tolerances, case.compared)
        found += [(case.label, diff) for diff in diffs]
    return ParityResult(deployment.model_name, deployment.precision, tuple(found), against, milliseconds)
