"""Checks that need no reference model: a deployment answers the same request the same way, and the rows of a
batch, or requests the dynamic batcher merges, as it answers each alone. A server or model that batches wrongly
(rows mixed up, padding leaking between sequences, state kept between requests) fails here."""

from __future__ import annotations

import functools
from typing import Mapping

import numpy as np

from pytest_triton.checks.conformance import ConformanceResult
from pytest_triton.checks.lockstep import Meet, in_lockstep
from pytest_triton.checks.parity import compare, differing, identical
from pytest_triton.checks.payload import own_answer, own_answers, spec_tolerances
from pytest_triton.checks.sequences import STEPS, interleaved_differences
from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.models.spec import SampleCase, Tolerance, is_float_dtype
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient

CONCURRENT_REQUESTS_MAX = 16  # one-row requests in flight at once: enough for the batcher to merge several
_START_TIMEOUT_S = 30.0  # for every sender to be connected and waiting at the barrier

Arrays = Mapping[str, np.ndarray]  # tensors by the spec's names


def repeated_request_identical(client: TritonClient, deployment: Deployment) -> ConformanceResult:
    """Every sample case sent twice gives bit-identical outputs (a decoupled model: as many responses, each
    bit-identical)."""
    problems = []
    for case in deployment.spec.make_samples():
        first, second = (own_answers(client, deployment, case.inputs) for _ in range(2))
        if len(first) != len(second):
            problems.append(f"{case.label}: {len(first)} responses, then {len(second)}, to two identical requests")
        for k, (one, other) in enumerate(zip(first, second)):
            where = case.label if len(first) == 1 else f"{case.label} response {k}"
            problems += [
                f"{where} {name}: {differing(one[name], other[name])} between two identical requests"
                for name in one
                if not identical(one[name], other[name])
            ]
    return ConformanceResult(deployment.model_name, "the same request twice", tuple(problems))


def batching_invariant(
    client: TritonClient, deployment: Deployment, tolerances: Tolerances
) -> tuple[ConformanceResult, tuple[int, int]]:
    """Each sample case with several rows, sent whole, equals its rows sent one by one; and every row of every case
    sent at once from concurrent clients (requests of mixed shapes the dynamic batcher may merge) equals the same
    row sent alone, within the precision's tolerance (bit-identical for non-float outputs). Also returns how many
    inferences the concurrent requests ran in how many executions (fewer executions: the batcher merged). A
    sequence model: its sequences interleaved from concurrent clients against each alone (interleaved_sequences)."""
    if deployment.kind.decoupled:
        raise Unsupported(
            f"{deployment.model_name} is decoupled: how many responses it sends for a batch is its own choice, so a "
            "batch's answers are not its rows' answers; the conformance suite checks its streams"
        )
    if deployment.kind.sequence is not None:
        return interleaved_sequences(client, deployment, tolerances)
    if deployment.max_batch_size < 2:
        raise Unsupported(
            f"{deployment.model_name} takes one row per request at most (max_batch_size {deployment.max_batch_size}):"
            " there is no batch to compare with its rows"
        )
    cases = deployment.spec.make_samples()
    if not any(case.batch_size >= 2 for case in cases):
        raise Unsupported(f"no sample case of {deployment.model_name} has several rows")
    chosen = spec_tolerances(deployment, tolerances)
    rows = [(case, index, case.row(index)) for case in cases for index in range(case.batch_size)]
    alone = [own_answer(client, deployment, arrays) for _, _, arrays in rows]
    problems = []
    for case in cases:
        if case.batch_size < 2:
            continue
        whole = own_answer(client, deployment, case.inputs)
        for (row_case, index, _), answer in zip(rows, alone):
            if row_case is case:
                in_batch = {name: value[index : index + 1] for name, value in whole.items()}
                where = f"{case.label} row {index} in the batch"
                problems += _differences(where, in_batch, answer, chosen, case, index)
    before = client.statistics(deployment.model_name)
    together = _concurrently(client, deployment, [arrays for _, _, arrays in rows])
    after = client.statistics(deployment.model_name)
    for (case, index, _), got, answer in zip(rows, together, alone):
        problems += _differences(f"{case.label} row {index} sent concurrently", got, answer, chosen, case, index)
    merged = (
        after.inference_count - before.inference_count,
        after.execution_count - before.execution_count,
    )
    return ConformanceResult(deployment.model_name, "batched rows against rows alone", tuple(problems)), merged


def interleaved_sequences(
    client: TritonClient, deployment: Deployment, tolerances: Tolerances
) -> tuple[ConformanceResult, tuple[int, int]]:
    """A sequence model's sequences sent interleaved from concurrent clients against each sent alone, step by step,
    within the precision's tolerance; with the inferences and executions the server ran for all of it."""
    chosen = spec_tolerances(deployment, tolerances)
    before = client.statistics(deployment.model_name)
    try:
        compared = interleaved_differences(client, deployment)
    except CheckFailed as error:
        raise CheckFailed(f"{error}{_null_request_hint(deployment)}") from None
    after = client.statistics(deployment.model_name)
    row = SampleCase(1, "step", {})
    problems = [
        problem for where, got, alone in compared for problem in _differences(where, got, alone, chosen, row, 0)
    ]
    merged = (after.inference_count - before.inference_count, after.execution_count - before.execution_count)
    heading = f"{len(compared) // STEPS} sequences interleaved against each alone"
    return ConformanceResult(deployment.model_name, heading, tuple(problems)), merged


def _null_request_hint(deployment: Deployment) -> str:
    sequencing = deployment.kind.sequence
    if sequencing is None or sequencing.strategy != "direct" or sequencing.reads_ready:
        return ""
    return (
        "\n(with several sequences at once, the direct strategy also sends the model null requests for a batch's "
        "idle slots, with correlation ID 0; it declares no CONTROL_SEQUENCE_READY input to tell them apart)"
    )


def _concurrently(client: TritonClient, deployment: Deployment, requests: list[Arrays]) -> list[Arrays]:
    """The requests sent at the same moment from one client each, in waves of CONCURRENT_REQUESTS_MAX."""
    answers: list[Arrays] = []
    for start in range(0, len(requests), CONCURRENT_REQUESTS_MAX):
        wave = requests[start : start + CONCURRENT_REQUESTS_MAX]

        def send(request: Arrays, meet: Meet) -> Arrays:
            with client.sibling(client.protocol) as own:
                meet()
                return own_answer(own, deployment, request)

        jobs = [functools.partial(send, request) for request in wave]
        answers += in_lockstep(jobs, _START_TIMEOUT_S, f"the {len(wave)} concurrent senders were not all connected")
    return answers


def _differences(
    where: str, got: Arrays, expected: Arrays, tolerances: Mapping[str, Tolerance], case: SampleCase, index: int
) -> list[str]:
    """What differs between one row's two answers: float outputs beyond their tolerance (over the elements the
    sample case compares), other outputs at all."""
    problems = []
    for name, want in expected.items():
        have = got[name]
        if not (is_float_dtype(want.dtype) and is_float_dtype(have.dtype)):
            if not identical(have, want):
                problems.append(f"{where}, output {name}: {differing(have, want)} from the row alone")
            continue
        mask = case.compared.get(name)
        compared = {name: np.asarray(mask)[index : index + 1]} if mask is not None else None
        try:
            (diff,) = compare({name: have}, {name: want}, {name: tolerances[name]}, compared)
        except CheckFailed as error:
            problems.append(f"{where}: {error}")
            continue
        if not diff.within:
            problems.append(f"{where}: {diff.row('').strip()}")
    return problems
