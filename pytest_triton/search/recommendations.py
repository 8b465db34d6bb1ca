"""Keeping a recommendation honest: `--update-baselines` stores the recommended configuration of each model with
its figures at its best concurrency (baselines/<hardware>/search.json); a run without a search measures only those
configurations again, and fails where one regresses against its figures or breaks the constraints.

A stored config id is the model and the candidate's id, e.g. "bert-tiny-onnx-fp32-mb1-nodb-i2/c4": what to deploy
and at which concurrency, readable in review."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Sequence

from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.entry import BaselineEntry, BaselineFile
from pytest_triton.baselines.verdict import Comparison
from pytest_triton.kinds import baseline_id
from pytest_triton.models.spec import ModelSpec
from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.judge import judge
from pytest_triton.perf.limits import Limit, check_limits
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.search.run import SearchOutcome, checked_workload, measurer, server_answers
from pytest_triton.search.space import Candidate
from pytest_triton.search.sweep import concurrency_of, faults
from pytest_triton.session import TritonSession


@dataclass(frozen=True)
class Stored:
    """A stored recommendation: the model, its configuration, the concurrency its figures were taken at."""

    model: str
    candidate: Candidate
    concurrency: int

    @property
    def config(self) -> str:
        return f"{self.model}-{self.candidate.id}"

    @property
    def id(self) -> str:
        return baseline_id(self.config, Concurrency(self.concurrency).label)


def _parse(config_id: str, model: str) -> Stored | None:
    config, _, point = config_id.partition("/")
    if not config.startswith(f"{model}-") or not point.startswith("c") or not point[1:].isdigit() or point == "c0":
        return None
    candidate = Candidate.from_id(config.removeprefix(f"{model}-"))
    return None if candidate is None else Stored(model, candidate, int(point[1:]))


def stored_recommendations(baseline: BaselineFile | None, models: Sequence[str]) -> list[Stored]:
    """The recommendations stored for `models`, in the file's order."""
    if baseline is None:
        return []
    found = [_parse(config, model) for config in baseline.entries for model in models]
    return [stored for stored in found if stored is not None]


def record_recommendation(outcome: SearchOutcome, baselines: BaselineContext) -> list[str]:
    """Store the outcome's recommendation in place of the model's earlier one, when this run updates baselines;
    returns the config ids written."""
    recommended = outcome.recommended
    if recommended is None or recommended.point is None:
        return []
    stored = Stored(outcome.model, recommended.result.candidate, concurrency_of(recommended.point))
    entries: dict[str, dict[str, BaselineEntry]] = {stored.id: measurement_entries(recommended.point)}
    # The same recommendation again keeps its stored tolerances (merged); only another one of the model goes.
    return baselines.record(
        entries, replacing=lambda config: config not in entries and _parse(config, outcome.model) is not None
    )


@dataclass
class Recheck:
    stored: Stored
    measurement: Measurement
    comparisons: list[Comparison] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # constraints the configuration no longer keeps
    recorded: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        wrong = [f"{self.stored.id}: {fault}" for fault in faults(self.measurement)]
        return wrong + [c.message for c in self.comparisons if c.failed] + self.broken


def recheck(
    session: TritonSession,
    spec: ModelSpec,
    stored: Stored,
    settings: MeasurementSettings,
    constraints: Sequence[Limit],
    baselines: BaselineContext,
    measuring: Callable[[], ContextManager[None]] = contextlib.nullcontext,
) -> Recheck:
    """Deploy the stored configuration, measure it at its concurrency with its answers checked, and judge it
    against its figures (a suspected regression measured once more) and the constraints; when this run updates
    baselines, its figures are stored again instead."""
    candidate = stored.candidate
    deployment = session.deployment(spec, candidate.format, candidate.precision, candidate.serving)
    try:
        workload = checked_workload(session, deployment, session.answers_reference(spec))
        take = functools.partial(measurer(session, workload, settings, measuring), stored.concurrency)
        outcome = Recheck(stored, take())
        outcome.broken, _ = check_limits(constraints, stored.config, outcome.measurement)
        if baselines.update:
            outcome.recorded = baselines.record({stored.id: measurement_entries(outcome.measurement)})
        else:
            judged = judge(
                stored.id, outcome.measurement, baselines.baseline(), strict=baselines.strict, remeasure=take
            )
            outcome.comparisons = baselines.explained(judged)
        return outcome
    finally:
        if server_answers(session):  # else the server's own failure is the error to see
            session.unload(deployment)
