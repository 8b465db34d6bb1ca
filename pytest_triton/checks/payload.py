"""Requests for a deployment built from a spec's sample inputs, the reference answers to them, and how far apart
the two are."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from pytest_triton.checks.parity import ParityResult, compare
from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.models.spec import ModelSpec
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient


def served_inputs(deployment: Deployment, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Spec-named arrays renamed and cast to what the deployment takes (names and dtypes may differ)."""
    return {
        served.name: np.ascontiguousarray(arrays[spec.name].astype(served.dtype))
        for spec, served in zip(deployment.spec.inputs, deployment.inputs)
    }


def spec_outputs(deployment: Deployment, served: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Served outputs under the spec's names, for comparison with the reference."""
    return {spec.name: served[out.name] for spec, out in zip(deployment.spec.outputs, deployment.outputs)}


@torch.no_grad()
def reference_outputs(
    module: torch.nn.Module, spec: ModelSpec, arrays: Mapping[str, np.ndarray], device: str
) -> dict[str, np.ndarray]:
    """The eager fp32 module's answer, computed on `device`."""
    module = module.to(device)
    outputs = module(*(torch.from_numpy(arrays[t.name]).to(device) for t in spec.inputs))
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    return {t.name: o.float().cpu().numpy() for t, o in zip(spec.outputs, outputs)}


def sample_diffs(
    client: TritonClient, deployment: Deployment, module: torch.nn.Module, device: str, tolerances: Tolerances
) -> ParityResult:
    """Every sample case of the spec sent to the deployment and compared with `module`'s answer, each output under
    its own tolerance at the deployment's precision; CheckFailed where an output cannot be compared at all."""
    spec = deployment.spec
    chosen = {t.name: tolerances.for_output(deployment.precision, t.name, spec.tolerances) for t in spec.outputs}
    names = [t.name for t in deployment.outputs]
    found = []
    for case in spec.make_samples():
        expected = reference_outputs(module, spec, case.inputs, device)
        served = client.infer(deployment.model_name, served_inputs(deployment, case.inputs), names)
        diffs = compare(spec_outputs(deployment, served), expected, chosen, case.compared)
        found += [(case.label, diff) for diff in diffs]
    return ParityResult(deployment.model_name, deployment.precision, tuple(found))
