"""An ensemble against the composition of its steps: where every step is served too, the ensemble's answer equals
running its steps one after another through the server, each step fed what the ensemble's config maps to it."""

from __future__ import annotations

import numpy as np

from pytest_triton.checks.parity import differing, identical
from pytest_triton.checks.payload import served_inputs
from pytest_triton.errors import Unsupported
from pytest_triton.models.kind import kind_from_config
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient


def composition_problems(client: TritonClient, deployment: Deployment) -> list[str]:
    """What differs between the ensemble's answer to its first sample case and its steps' answers run in turn.
    Unsupported where a step is not served on its own, or keeps state or streams (its answer alone is not its
    answer inside the ensemble)."""
    steps = deployment.kind.steps
    for step in steps:
        if not client.is_model_ready(step.model):
            raise Unsupported(f"step '{step.model}' of {deployment.model_name} is not served on its own")
        kind = kind_from_config(client.model_config(step.model))
        if not kind.is_stateless:
            raise Unsupported(f"step '{step.model}' of {deployment.model_name} is a {kind.describe()} model")
    inputs = served_inputs(deployment, deployment.spec.make_samples()[0].inputs)
    names = [t.name for t in deployment.outputs]
    tensors: dict[str, np.ndarray] = dict(inputs)
    for step in steps:
        given = {own: tensors[theirs] for own, theirs in step.inputs.items()}
        got = client.infer(step.model, given, list(step.outputs), version=step.version)
        tensors.update({step.outputs[own]: array for own, array in got.items()})
    whole = client.infer(deployment.model_name, inputs, names)
    flow = " -> ".join(step.model for step in steps)
    return [
        f"output {name}: {differing(whole[name], tensors[name])} between the ensemble and its steps run in turn "
        f"({flow})"
        for name in names
        if not identical(whole[name], tensors[name])
    ]
