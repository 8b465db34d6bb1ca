"""An ensemble against the composition of its steps: where every step is served too, the ensemble's answer equals
running its steps one after another through the server, each step fed what the ensemble's config maps to it; and
its time at the server beside the sum of its steps'."""

from __future__ import annotations

from dataclasses import dataclass

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
        if not set(step.inputs.values()) <= set(tensors):
            raise Unsupported(f"step '{step.model}' of {deployment.model_name} takes a tensor no step gives")
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


@dataclass(frozen=True)
class StepLatencies:
    """An ensemble's average request time at the server over some requests, and each step's over the same time
    (the statistics extension's success durations): the sum of the steps' beside the ensemble's says what the
    ensemble's scheduling adds."""

    ensemble_us: float
    steps_us: dict[str, float]

    @property
    def steps_sum_us(self) -> float:
        return sum(self.steps_us.values())


def statistics_of(client: TritonClient, deployment: Deployment) -> dict[str, tuple[int, int]]:
    """The ensemble's and each step's (requests, ns) so far; take it before and after the requests to time."""
    models = [deployment.model_name, *(step.model for step in deployment.kind.steps)]
    return {model: client.statistics(model).durations_ns.get("success", (0, 0)) for model in models}


def step_latencies(
    deployment: Deployment, before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> StepLatencies | None:
    """The averages between two statistics_of; None where the ensemble served no request between them."""

    def average(model: str) -> float:
        count = after[model][0] - before[model][0]
        return (after[model][1] - before[model][1]) / count / 1000 if count > 0 else 0.0

    if after[deployment.model_name][0] <= before[deployment.model_name][0]:
        return None
    steps = {step.model: average(step.model) for step in deployment.kind.steps}
    return StepLatencies(average(deployment.model_name), steps)
