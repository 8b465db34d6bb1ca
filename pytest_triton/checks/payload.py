"""Requests for a deployment built from a spec's sample inputs, the reference answers to them, and how far apart
the two are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from pytest_triton.checks.parity import ParityResult, compare
from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.models.spec import ModelSpec, SampleCase, Tolerance
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient

if TYPE_CHECKING:  # torch is imported where a reference runs: served models are checked without it
    import torch


def served_inputs(deployment: Deployment, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Spec-named arrays renamed and cast to what the deployment takes (names and dtypes may differ)."""
    return {
        served.name: np.ascontiguousarray(arrays[spec.name].astype(served.dtype))
        for spec, served in zip(deployment.spec.inputs, deployment.inputs)
    }


def infer_spec_named(
    client: TritonClient, deployment: Deployment, arrays: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The deployment's answer to spec-named inputs, under the spec's output names."""
    names = [t.name for t in deployment.outputs]
    return spec_outputs(deployment, client.infer(deployment.model_name, served_inputs(deployment, arrays), names))


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


def reference_cases(module: torch.nn.Module, spec: ModelSpec, device: str) -> Expected:
    """Every sample case of the spec with the eager module's answer to it."""
    return [(case, reference_outputs(module, spec, case.inputs, device)) for case in spec.make_samples()]


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
    """Every case sent to the deployment and its outputs compared with the expected ones, each under its
    tolerance; CheckFailed where an output cannot be compared at all."""
    found = []
    for case, outputs in expected:
        diffs = compare(infer_spec_named(client, deployment, case.inputs), outputs, tolerances, case.compared)
        found += [(case.label, diff) for diff in diffs]
    return ParityResult(deployment.model_name, deployment.precision, tuple(found), against)
