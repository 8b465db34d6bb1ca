"""The perf check: measure one configuration across its load points, judge each against its baseline."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Mapping, Sequence

import numpy as np

from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.entry import BaselineEntry
from pytest_triton.baselines.verdict import Comparison
from pytest_triton.checks.parity import compare
from pytest_triton.checks.payload import infer_spec_named, served_inputs, spec_outputs
from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.kinds import baseline_id
from pytest_triton.models.spec import SampleCase, TensorSpec, Tolerance
from pytest_triton.perf.asyncio_engine import AsyncioEngine
from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.cold_start import ColdStart, first_requests
from pytest_triton.perf.input_data import read_input_data
from pytest_triton.perf.judge import judge, judge_entries
from pytest_triton.perf.limits import check_limits
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.plan import PerfPlan
from pytest_triton.perf.reference import (
    METRIC,
    ClientSaturated,
    ReferencedThroughput,
    judge_referenced,
    measure_referenced,
)
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.workload import ResponseCheck, Workload
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient
from pytest_triton.server.endpoint import ServerEndpoint


@dataclass
class PerfOutcome:
    config: str
    measurements: list[Measurement] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    # Load points not recorded as baselines, with the reason (unstable, saturated client, errors).
    not_recorded: dict[str, str] = field(default_factory=dict)
    recorded: list[str] = field(default_factory=list)
    cold: ColdStart | None = None  # where this run served the model its first requests
    broken_limits: list[str] = field(default_factory=list)  # --triton-slo limits a measurement broke
    # Checks this run could not make, and why (a limit on a figure this server does not give, a ratio to the reference
    # the client would have set): warned, not failed.
    unchecked: list[str] = field(default_factory=list)
    wrong_answers: list[str] = field(default_factory=list)  # load points that answered wrong under load
    # Load point label -> its throughput measured against the reference served beside it (--triton-perf-reference).
    referenced: dict[str, ReferencedThroughput] = field(default_factory=dict)

    @property
    def failures(self) -> list[str]:
        return self.wrong_answers + [c.message for c in self.comparisons if c.failed] + self.broken_limits


def _check_batch_size(deployment: Deployment, batch_size: int) -> None:
    if batch_size > max(deployment.max_batch_size, 1):
        raise Unsupported(
            f"{deployment.model_name} takes batches of at most {max(deployment.max_batch_size, 1)} "
            f"(max_batch_size {deployment.max_batch_size}), not {batch_size}"
        )


def load_cases(deployment: Deployment, batch_size: int) -> list[SampleCase]:
    """The requests a measurement sends in rotation, spec-named. A QA model with a tokenizer: SQuAD features, each
    request as long as its longest row (squad.load). Otherwise each request is `batch_size` rows of the spec's
    largest sample case from a different row on; a model without batching gets that case as it is. Unsupported
    where the model takes no such batch."""
    _check_batch_size(deployment, batch_size)
    spec = deployment.spec
    largest = spec.largest_case()
    if deployment.max_batch_size == 0:
        return [largest]
    tokenizer_dir = spec.tokenizer_dir() if spec.family == "bert" and spec.tokenizer_dir else None
    if tokenizer_dir is not None:  # a BERT QA model: the inputs SQuAD features fill, [batch, sequence]
        from pytest_triton.squad.load import squad_requests

        return squad_requests(tokenizer_dir, largest.inputs["input_ids"].shape[1], batch_size)
    return [largest.rotated(start, batch_size) for start in range(largest.batch_size)]


def perf_workload(deployment: Deployment, cases: Sequence[SampleCase]) -> Workload:
    """The cases as the deployment takes them (served names and dtypes), sent in rotation."""
    return Workload(
        model=deployment.model_name,
        requests=tuple(served_inputs(deployment, case.inputs) for case in cases),
        outputs=tuple(t.name for t in deployment.outputs),
        batch_size=cases[0].batch_size if deployment.max_batch_size > 0 else 1,
        batched=deployment.max_batch_size > 0,
    )


Reference = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]  # spec-named inputs -> outputs


@dataclass(frozen=True)
class ExpectedAnswers:
    """What the answers sampled under load are held to, each output within its tolerance at the deployment's
    precision: a reference's answers (spec-named inputs -> spec-named outputs) where there is one, else the
    deployment's own answers to the same requests sent one at a time before the load (a served model nobody here
    wrote: what load must not change)."""

    tolerances: Mapping[str, Tolerance]
    reference: Reference | None = None
    # Per case, the outputs an input data file's validation_data gives: these win over a reference.
    given: tuple[Mapping[str, np.ndarray], ...] | None = None

    @property
    def against(self) -> str:
        if self.given is not None:
            return "the input data file's validation_data"
        return "the eager fp32 reference" if self.reference else "its own answers to the same requests one at a time"

    def check(self, client: TritonClient, deployment: Deployment, cases: Sequence[SampleCase]) -> ResponseCheck:
        if self.given is not None:
            expected = list(self.given)
        elif self.reference is not None:
            expected = [self.reference(case.inputs) for case in cases]
        else:
            expected = [infer_spec_named(client, deployment, case.inputs) for case in cases]

        def check(index: int, served: Mapping[str, np.ndarray]) -> str | None:
            position = index % len(cases)  # the rotation's place, as Workload.request takes it
            case = cases[position]
            try:
                diffs = compare(spec_outputs(deployment, served), expected[position], self.tolerances, case.compared)
            except CheckFailed as error:
                return f"{case.label}: {error}"
            wrong = [diff for diff in diffs if not diff.within]
            return f"{case.label} {wrong[0].row('').strip()}" if wrong else None

        return check


def perf_requests(
    deployment: Deployment,
    batch_size: int,
    tolerances: Mapping[str, Tolerance],
    reference: Reference | None,
    input_data: Path | None = None,
) -> tuple[list[SampleCase], ExpectedAnswers]:
    """The requests a measurement sends, from `input_data` (perf_analyzer's format) where given, else load_cases;
    and what their answers are held to: the file's validation_data, else `reference`, else the deployment's own
    answers one at a time."""
    if input_data is None:
        return load_cases(deployment, batch_size), ExpectedAnswers(tolerances, reference)
    _check_batch_size(deployment, batch_size)
    spec = deployment.spec
    inputs, outputs = list(zip(spec.inputs, deployment.inputs)), list(zip(spec.outputs, deployment.outputs))
    aliases = {own.name: served.name for own, served in inputs + outputs}
    batched = deployment.max_batch_size > 0
    data = read_input_data(input_data, deployment.inputs, deployment.outputs, batch_size, batched, aliases)

    def spec_named(arrays: Mapping[str, np.ndarray], pairs: list[tuple[TensorSpec, TensorSpec]]) -> dict:
        # As the spec names and types them: the reference takes fp32 where an fp16 deployment takes fp16.
        return {own.name: arrays[served.name].astype(own.dtype) for own, served in pairs}

    cases = [SampleCase(case.batch_size, case.label, spec_named(case.inputs, inputs)) for case in data.cases]
    if data.expected is None:
        return cases, ExpectedAnswers(tolerances, reference)
    given = tuple(spec_named(expected, outputs) for expected in data.expected)
    return cases, ExpectedAnswers(tolerances, given=given)


def _unfit_for_baseline(m: Measurement) -> str:
    if m.answers_wrong:
        return f"{m.answers_wrong} wrong answers"
    if m.errors:
        return f"{m.errors} requests failed ({m.first_error})"
    if not m.stable:
        return "never stable (raise --triton-perf-window)"
    if m.client_saturated:
        return f"the client was saturated ({m.client_cpu_cores:.2f} cores): the figure measures the client"
    return ""


def _cold_entries(
    cold: ColdStart,
    outcome: PerfOutcome,
    config: str,
    baselines: BaselineContext,
    progress: Callable[[str], None],
    remeasure: Callable[[], ColdStart] | None,
) -> dict[str, dict[str, BaselineEntry]]:
    """The cold start's baseline entries to record when updating; otherwise its comparisons go to the outcome. A
    suspected regression is measured again after `remeasure` reloads the model, and kept only where that repeats
    it. (A hypervisor's steal cannot tell here: /proc/stat counts 10 ms ticks, and a cold start lasts a few of
    them.)"""
    point_id = baseline_id(config, "cold")
    progress(
        f"{point_id}: first response {cold.first_response_us / 1000:.2f} ms"
        + (f", loaded in {cold.load_s:.2f} s" if cold.load_s is not None else "")
    )
    if baselines.update:
        return {point_id: cold.entries()}

    def again() -> Mapping[str, BaselineEntry]:
        assert remeasure is not None
        cold_again = remeasure()
        progress(f"{point_id}: reloaded, first response {cold_again.first_response_us / 1000:.2f} ms")
        return cold_again.entries()

    # Which config of a deployment serves it first depends on test order and on xdist (each worker deploys its own),
    # so a cold start without a baseline is reported, never failed as missing.
    judged = judge_entries(point_id, cold.entries(), baselines.baseline(), again=again if remeasure else None)
    outcome.comparisons += baselines.explained(judged)
    return {}


def _stored(baselines: BaselineContext, config: str, metric: str) -> bool:
    stored = baselines.baseline()
    return stored is not None and stored.get(config, metric) is not None


def run_perf(
    endpoint: ServerEndpoint,
    deployment: Deployment,
    config: str,
    cases: Sequence[SampleCase],
    answers: ExpectedAnswers | None,
    plan: PerfPlan,
    baselines: BaselineContext,
    progress: Callable[[str], None] = lambda line: None,
    measuring: Callable[[], ContextManager[None]] = contextlib.nullcontext,
    reload: Callable[[], float] | None = None,
    reference: Workload | None = None,
) -> PerfOutcome:
    """Measure every load point of the plan sending `cases` in rotation, check a sample of the answers against
    `answers`, check each point against the plan's limits, judge it against its baseline (re-measuring a suspected
    regression once), and record stable points as baselines when asked. Each measurement runs inside
    `measuring()`: under xdist, a turn with the machine alone (turns.Turns). `reload` unloads and loads the model
    again and returns the load's seconds: with it, a cold start that seems to regress is measured a second time.
    With `reference` (a model served beside it, perf.reference) and the plan's reference slices, each closed-loop
    load point is also measured against it, and the ratio recorded, or judged (perf.reference.judge_referenced)."""
    workload = perf_workload(deployment, cases)
    # In a fleet, a server may answer over the other protocol only.
    settings = dataclasses.replace(plan.settings, protocol=endpoint.preferred(plan.settings.protocol))
    outcome = PerfOutcome(config)
    baselines.baseline()  # a malformed file stops the run before anything is measured, also when updating
    entries = {}
    with measuring(), TritonClient(endpoint, settings.protocol) as client:
        try:
            outcome.cold = first_requests(client, workload, deployment.load_s, deployment.warmup_inferences)
        except Unsupported:
            pass  # served before (another batch size of this deployment, or someone else's model): no cold start
        if outcome.cold is not None:
            again = (
                (lambda: first_requests(client, workload, reload(), deployment.warmup_inferences))
                if reload is not None
                else None
            )
            entries.update(_cold_entries(outcome.cold, outcome, config, baselines, progress, again))
        # After the cold start: answers one at a time are the model's first requests too. perf_analyzer sees no answers.
        if answers is not None and plan.engine == AsyncioEngine.name:
            workload = dataclasses.replace(workload, check=answers.check(client, deployment, cases))
    for load in plan.loads:
        point_id = baseline_id(config, load.label)

        def take() -> Measurement:
            with measuring():
                return measure(endpoint, workload, [load], settings, plan.engine)[0]

        measurement = take()
        outcome.measurements.append(measurement)
        progress(
            f"{point_id}: {measurement.throughput:.1f} inf/s, p50 {measurement.latency.p50_us / 1000:.2f} ms"
            f"{'' if measurement.stable else ' (unstable)'}"
        )
        if measurement.answers_wrong:
            outcome.wrong_answers.append(
                f"{point_id}: {measurement.answers_wrong} of {measurement.answers_checked} answers checked under load "
                f"differ from {answers.against if answers else 'the expected ones'} beyond {deployment.precision} "
                f"tolerance; the first: {measurement.first_wrong}"
            )
        broken, unchecked = check_limits(plan.limits, config, measurement)
        outcome.broken_limits += broken
        outcome.unchecked += unchecked
        # Closed loop only: at a request rate both would complete what is offered, whatever their speed.
        against_reference = reference is not None and plan.reference_slices > 0 and isinstance(load, Concurrency)

        def take_referenced() -> ReferencedThroughput:
            assert reference is not None and isinstance(load, Concurrency)
            with measuring():
                taken = measure_referenced(endpoint, workload, reference, load, settings, plan.reference_slices)
            noise = f"{taken.noise:.1%}" if taken.noise is not None else "unknown"
            progress(f"{point_id}: {taken.ratio:.3f} x the reference's throughput (noise {noise})")
            return taken

        reason = _unfit_for_baseline(measurement)
        if against_reference and not (baselines.update and reason):
            try:
                outcome.referenced[load.label] = take_referenced()
            except ClientSaturated as saturated:
                outcome.unchecked.append(f"{point_id}: not measured against the reference: {saturated}")
                against_reference = False
        if baselines.update:
            if reason:
                outcome.not_recorded[point_id] = reason
            else:
                entries[point_id] = measurement_entries(measurement)
                if against_reference:
                    entries[point_id].update(outcome.referenced[load.label].entries())
                elif _stored(baselines, point_id, METRIC):
                    # Recording the rest would leave it from another state of the model.
                    outcome.not_recorded[f"{point_id} {METRIC}"] = (
                        "recorded before and not measured now: record it again with --triton-perf-reference"
                    )
            continue
        judged = judge(point_id, measurement, baselines.baseline(), strict=baselines.strict, remeasure=take)
        if against_reference:
            referenced, outcome.referenced[load.label] = judge_referenced(
                point_id,
                outcome.referenced[load.label],
                baselines.baseline(),
                strict=baselines.strict,
                again=take_referenced,
            )
            judged.append(referenced)
        outcome.comparisons += baselines.explained(judged)
    outcome.recorded = baselines.record(entries)
    return outcome
