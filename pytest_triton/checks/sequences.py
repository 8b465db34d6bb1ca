"""Checks of a sequence model, whose requests carry a correlation ID and START/END flags: a request without an ID, or
a continuation of a sequence the server never saw, is refused cleanly and the model still serves; sequences sent
interleaved from concurrent clients give exactly what each gives alone (state kept per sequence, never leaked)."""

from __future__ import annotations

import functools
from typing import Mapping

import numpy as np
from tritonclient.utils import InferenceServerException

from pytest_triton.checks.exchange import answers, joined
from pytest_triton.checks.lockstep import Meet, in_lockstep
from pytest_triton.checks.payload import own_answers, served_inputs
from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import SequenceStep, TritonClient, new_sequence_id

# Sequences interleaved at once, at most (fewer where the server has fewer slots, or they would wait for one): enough
# for the batcher to put several in one batch; and steps in each, enough for state to build up and leak.
SEQUENCES = 4
STEPS = 4
_STEP_TIMEOUT_S = 30.0  # for every sequence's client to reach the next step together

Arrays = Mapping[str, np.ndarray]  # tensors by the spec's names


def sequence_plan(deployment: Deployment, sequences: int = SEQUENCES) -> list[list[Arrays]]:
    """`sequences` sequences of STEPS one-row requests, drawn in turn from the rows of the sample cases, each
    sequence starting at another row so that no two are alike where the samples have rows enough."""
    cases = deployment.spec.make_samples()
    if deployment.max_batch_size == 0:  # a request is one row without a batch dimension: the case as it is
        rows = [dict(case.inputs) for case in cases]
    else:
        rows = [case.row(index) for case in cases for index in range(case.batch_size)]
    return [[rows[(s * STEPS + t) % len(rows)] for t in range(STEPS)] for s in range(sequences)]


def run_sequence(client: TritonClient, deployment: Deployment, steps: list[Arrays]) -> list[dict[str, np.ndarray]]:
    """One sequence under a new correlation ID: its first step STARTs it, its last ENDs it; each step's answer."""
    sequence_id = new_sequence_id()
    return [
        joined(
            deployment,
            own_answers(client, deployment, arrays, f"step {t}", SequenceStep.at(sequence_id, t, len(steps))),
        )
        for t, arrays in enumerate(steps)
    ]


def sequence_refusals(client: TritonClient, deployment: Deployment) -> list[str]:
    """Problems with how the model meets a request without a correlation ID and a continuation of a sequence the
    server never saw: each must be refused with words that say why, and a whole sequence must still be answered."""
    steps = sequence_plan(deployment, 1)[0]
    first = served_inputs(deployment, steps[0])
    names = [t.name for t in deployment.outputs]
    problems = []
    for what, step, says in (
        ("a request without a correlation ID", SequenceStep(0), "correlation id"),
        ("a continuation of a sequence the server never saw", SequenceStep(new_sequence_id()), "start"),
    ):
        try:
            answers(client, deployment, first, names, step)
            problems.append(f"{what} was answered: the server must refuse it")
        except InferenceServerException as refused:
            said = refused.message() or ""
            if says not in said.lower():
                problems.append(f"{what} is refused without saying {says!r}: {said}")
    try:
        run_sequence(client, deployment, steps)
    except CheckFailed as error:
        problems.append(f"afterwards, {error}")
    return problems


def interleaved_differences(client: TritonClient, deployment: Deployment) -> list[tuple[str, Arrays, Arrays]]:
    """Each step's answer when its sequence runs alone and when up to SEQUENCES (as many as the server has slots
    for) run at once from a client each, the steps interleaved (every sequence's step t sent together): (where,
    interleaved, alone) for every step. Unsupported where the server runs one sequence at a time."""
    assert deployment.kind.sequence is not None
    slots = deployment.kind.sequence.slots
    if slots < 2:
        raise Unsupported(
            f"{deployment.model_name} runs one sequence at a time (one slot: max_batch_size x instances, or the "
            "oldest strategy's max_candidate_sequences): its sequences cannot interleave"
        )
    plan = sequence_plan(deployment, min(SEQUENCES, slots))
    alone = [run_sequence(client, deployment, steps) for steps in plan]

    def send(steps: list[Arrays], meet: Meet) -> list[dict[str, np.ndarray]]:
        sequence_id, got = new_sequence_id(), []
        with client.sibling(client.protocol) as own:
            for t, arrays in enumerate(steps):
                meet()
                step = SequenceStep.at(sequence_id, t, len(steps))
                got.append(joined(deployment, own_answers(own, deployment, arrays, f"step {t}", step)))
        return got

    jobs = [functools.partial(send, steps) for steps in plan]
    together = in_lockstep(jobs, _STEP_TIMEOUT_S, f"the {len(plan)} sequences' clients did not all reach a step")
    return [
        (f"sequence {s} step {t}", got, want)
        for s, answers_of in enumerate(together)
        for t, (got, want) in enumerate(zip(answers_of, alone[s]))
    ]
