"""A deployment checked against a baseline deployment in the same run: the same requests' answers compared, and
each closed-loop load point measured side by side (perf.side_by_side)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

from pytest_triton.checks.parity import compare
from pytest_triton.checks.payload import own_answer
from pytest_triton.errors import CheckFailed
from pytest_triton.models.spec import SampleCase, Tolerance
from pytest_triton.perf.alternation import alternate
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.reference import SLICE_S, check_client
from pytest_triton.perf.settings import MeasurementSettings, Rounds
from pytest_triton.perf.side_by_side import PairedSlices, measure_side_by_side
from pytest_triton.perf.side_by_side_verdict import SideBySide
from pytest_triton.perf.workload import Workload
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient
from pytest_triton.server.endpoint import ServerEndpoint


@dataclass(frozen=True)
class BaselineSide:
    """The baseline deployment's model for one candidate: where it is served, and the deployment as served there
    (the candidate's signature, under the baseline's model name)."""

    endpoint: ServerEndpoint
    deployment: Deployment
    label: str  # the directory or address it came from, for the reports


def answers_against(
    candidate: tuple[TritonClient, Deployment],
    baseline: tuple[TritonClient, Deployment],
    cases: Sequence[SampleCase],
    tolerances: Mapping[str, Tolerance],
) -> str | None:
    """Each case sent to both: the first output the candidate answers differently from the baseline beyond the
    precision's tolerance, or None where every answer agrees. ("Did this change change the answers?")"""
    for case in cases:
        theirs = own_answer(*baseline, case.inputs, f"the request '{case.label}'")
        ours = own_answer(*candidate, case.inputs, f"the request '{case.label}'")
        try:
            diffs = compare(ours, theirs, tolerances, case.compared)
        except CheckFailed as error:
            return f"{case.label}: {error}"
        wrong = [diff for diff in diffs if not diff.within]
        if wrong:
            return f"{case.label} {wrong[0].row('').strip()}"
    return None


def measure_against(
    endpoint: ServerEndpoint,
    workload: Workload,
    side: BaselineSide,
    load: Concurrency,
    settings: MeasurementSettings,
    rounds: Rounds,
    point: str,
) -> tuple[SideBySide, PairedSlices]:
    """The candidate's `workload` and the same requests to the baseline's model, side by side at `load`, in rounds
    until each figure is decided or the budget is spent. ClientSaturated where the client set either side's pace:
    the ratio would then be the client's."""
    baseline = dataclasses.replace(workload, model=side.deployment.model_name, model_version="", check=None)

    def take(pairs: int) -> PairedSlices:
        taken = alternate(
            endpoint, (workload, baseline), load.requests, pairs, SLICE_S, settings, second_endpoint=side.endpoint
        )
        check_client((taken.first, taken.second), settings, f"both sides at {load.label}")
        return PairedSlices.of(taken, load.requests)

    return measure_side_by_side(point, take, rounds)
