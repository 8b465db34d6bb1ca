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
from pytest_triton.checks.against import BaselineSide, answers_against, measure_against
from pytest_triton.checks.parity import compare
from pytest_triton.checks.payload import infer_spec_named, served_inputs, spec_outputs
from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.kinds import baseline_id
from pytest_triton.models.spec import SampleCase, TensorSpec, Tolerance
from pytest_triton.perf.asyncio_engine import AsyncioEngine
from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.cold_start import ColdStart, first_requests
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.input_data import read_input_data
from pytest_triton.perf.judge import judge, judge_entries
from pytest_triton.perf.limits import check_limits
from pytest_triton.perf.load import Concurrency, LoadPoint
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
from pytest_triton.perf.settings import MeasurementSettings, Rounds
from pytest_triton.perf.side_by_side_verdict import AgainstPoint, Outcome
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
    # Load point label -> its verdict side by side with the baseline deployment (--triton-perf-against).
    against: dict[str, AgainstPoint] = field(default_factory=dict)
    against_failures: list[str] = field(default_factory=list)  # answers that differ, points that regressed

    @property
    def failures(self) -> list[str]:
        judged = [c.message for c in self.comparisons if c.failed]
        return self.wrong_answers + self.against_failures + judged + self.broken_limits


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


def perf_workload(deployment: Deployment, cases: Sequence[SampleCase], sequence_length: int = 0) -> Workload:
    """The cases as the deployment takes them (served names and dtypes), sent in rotation; a sequence model's in
    sequences of `sequence_length` steps. Unsupported for a decoupled model (its streams are not measured yet)
    and for a sequence model's batches (the sequence batcher takes one row a request)."""
    if deployment.kind.decoupled:
        raise Unsupported(
            f"{deployment.model_name} is decoupled: the perf engines do not measure streams yet (time to first "
            "response, time between responses); the conformance suite checks that every stream ends"
        )
    if deployment.kind.sequence and cases[0].batch_size > 1 and deployment.max_batch_size > 0:
        raise Unsupported(
            f"{deployment.model_name} is a sequence model: the sequence batcher takes one row a request, not "
            f"{cases[0].batch_size}"
        )
    return Workload(
        model=deployment.model_name,
        requests=tuple(served_inputs(deployment, case.inputs) for case in cases),
        outputs=tuple(t.name for t in deployment.outputs),
        batch_size=cases[0].batch_size if deployment.max_batch_size > 0 else 1,
        batched=deployment.max_batch_size > 0,
        sequence_length=sequence_length if deployment.kind.sequence else 0,
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
    against: BaselineSide | None = None,
) -> PerfOutcome:
    """Measure every load point of the plan sending `cases` in rotation, check a sample of the answers against
    `answers`, check each point against the plan's limits, judge it against its baseline (re-measuring a suspected
    regression once), and record stable points as baselines when asked. Each measurement runs inside
    `measuring()`: under xdist, a turn with the machine alone (turns.Turns). `reload` unloads and loads the model
    again and returns the load's seconds: with it, a cold start that seems to regress is measured a second time.
    With `reference` (a model served beside it, perf.reference) and the plan's reference slices, each closed-loop
    load point is also measured against it, and the ratio recorded, or judged (perf.reference.judge_referenced).
    With `against` (the same model in a baseline deployment), the answers are compared with the baseline's and each
    closed-loop load point is measured side by side with it (checks.against), whatever the stored baselines."""
    # In a fleet, a server may answer over the other protocol only.
    settings = dataclasses.replace(plan.settings, protocol=endpoint.preferred(plan.settings.protocol))
    expected = answers.against if answers else "the expected ones"
    run = _PerfRun(endpoint, deployment, config, plan, settings, baselines, progress, measuring, expected)
    baselines.baseline()  # a malformed file stops the run before anything is measured, also when updating
    workload = perf_workload(deployment, cases, plan.sequence_length)
    with measuring(), TritonClient(endpoint, settings.protocol) as client:
        run.cold_start(client, workload, reload)
        if workload.sequence_length:  # each step's answer depends on the steps before it
            run.outcome.unchecked.append(f"{config}: a sequence model's answers under load are not checked")
        # After the cold start: answers one at a time are the model's first requests too. perf_analyzer sees no answers.
        elif answers is not None and plan.engine == AsyncioEngine.name:
            workload = dataclasses.replace(workload, check=answers.check(client, deployment, cases))
        if against is not None and answers is not None:
            run.answers_against(client, against, cases, answers.tolerances)
    for load in plan.loads:
        run.point(workload, load, reference)
        if against is not None and isinstance(load, Concurrency):
            run.side_by_side(workload, load, against)
    run.outcome.recorded = baselines.record(run.entries)
    return run.outcome


@dataclass
class _PerfRun:
    """One configuration's perf check as it goes: what it measures with, and what it found so far."""

    endpoint: ServerEndpoint
    deployment: Deployment
    config: str
    plan: PerfPlan
    settings: MeasurementSettings
    baselines: BaselineContext
    progress: Callable[[str], None]
    measuring: Callable[[], ContextManager[None]]
    expected: str  # what answers under load are held to, in words
    outcome: PerfOutcome = field(init=False)
    entries: dict[str, dict[str, BaselineEntry]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outcome = PerfOutcome(self.config)

    def cold_start(self, client: TritonClient, workload: Workload, reload: Callable[[], float] | None) -> None:
        try:
            self.outcome.cold = first_requests(
                client, workload, self.deployment.load_s, self.deployment.warmup_inferences
            )
        except Unsupported:
            return  # served before (another batch size of this deployment, or someone else's model): no cold start
        again = None
        if reload is not None:
            warmup = self.deployment.warmup_inferences
            again = lambda: first_requests(client, workload, reload(), warmup)  # noqa: E731
        self.entries.update(
            _cold_entries(self.outcome.cold, self.outcome, self.config, self.baselines, self.progress, again)
        )

    def answers_against(
        self,
        client: TritonClient,
        against: BaselineSide,
        cases: Sequence[SampleCase],
        tolerances: Mapping[str, Tolerance],
    ) -> None:
        try:
            with TritonClient(against.endpoint, self.settings.protocol) as theirs:
                differ = answers_against((client, self.deployment), (theirs, against.deployment), cases, tolerances)
        except CheckFailed as refused:  # the baseline's own refusal: the rest is measured all the same
            self.outcome.against_failures.append(f"{self.config}: answers not compared with the baseline: {refused}")
            return
        if differ:
            self.outcome.against_failures.append(
                f"{self.config}: answers differ from the baseline deployment's ({against.label}) beyond "
                f"{self.deployment.precision} tolerance: {differ}"
            )

    def point(self, workload: Workload, load: LoadPoint, reference: Workload | None) -> None:
        """Measure one load point, check it, and judge it or keep its entries for recording."""
        point_id = baseline_id(self.config, load.label)

        def take() -> Measurement:
            with self.measuring():
                return measure(self.endpoint, workload, [load], self.settings, self.plan.engine)[0]

        measurement = take()
        self.outcome.measurements.append(measurement)
        self.progress(
            f"{point_id}: {measurement.throughput:.1f} inf/s, p50 {measurement.latency.p50_us / 1000:.2f} ms"
            f"{'' if measurement.stable else ' (unstable)'}"
        )
        self._check(point_id, measurement)
        # Closed loop only: at a request rate both would complete what is offered, whatever their speed.
        against_reference = reference is not None and self.plan.reference_slices > 0 and isinstance(load, Concurrency)
        reason = _unfit_for_baseline(measurement)
        if against_reference and not (self.baselines.update and reason):
            assert reference is not None and isinstance(load, Concurrency)
            against_reference = self._referenced(point_id, workload, reference, load) is not None
        if self.baselines.update:
            self._keep(point_id, measurement, reason, load.label if against_reference else None)
            return
        judged = judge(point_id, measurement, self.baselines.baseline(), strict=self.baselines.strict, remeasure=take)
        if against_reference:
            assert reference is not None and isinstance(load, Concurrency)
            referenced, self.outcome.referenced[load.label] = judge_referenced(
                point_id,
                self.outcome.referenced[load.label],
                self.baselines.baseline(),
                strict=self.baselines.strict,
                again=lambda: self._take_referenced(point_id, workload, reference, load),
            )
            judged.append(referenced)
        self.outcome.comparisons += self.baselines.explained(judged)

    def _check(self, point_id: str, measurement: Measurement) -> None:
        """Wrong answers under load, and the plan's limits."""
        if measurement.answers_wrong:
            self.outcome.wrong_answers.append(
                f"{point_id}: {measurement.answers_wrong} of {measurement.answers_checked} answers checked under load "
                f"differ from {self.expected} beyond {self.deployment.precision} tolerance; the first: "
                f"{measurement.first_wrong}"
            )
        broken, unchecked = check_limits(self.plan.limits, self.config, measurement)
        self.outcome.broken_limits += broken
        self.outcome.unchecked += unchecked

    def _referenced(
        self, point_id: str, workload: Workload, reference: Workload, load: Concurrency
    ) -> ReferencedThroughput | None:
        try:
            taken = self._take_referenced(point_id, workload, reference, load)
        except ClientSaturated as saturated:
            self.outcome.unchecked.append(f"{point_id}: not measured against the reference: {saturated}")
            return None
        self.outcome.referenced[load.label] = taken
        return taken

    def _take_referenced(
        self, point_id: str, workload: Workload, reference: Workload, load: Concurrency
    ) -> ReferencedThroughput:
        with self.measuring():
            taken = measure_referenced(
                self.endpoint, workload, reference, load, self.settings, self.plan.reference_slices
            )
        noise = f"{taken.noise:.1%}" if taken.noise is not None else "unknown"
        self.progress(f"{point_id}: {taken.ratio:.3f} x the reference's throughput (noise {noise})")
        return taken

    def _keep(self, point_id: str, measurement: Measurement, reason: str, referenced: str | None) -> None:
        """Entries to record where the measurement is fit for a baseline; else the reason it is not."""
        if reason:
            self.outcome.not_recorded[point_id] = reason
            return
        self.entries[point_id] = measurement_entries(measurement)
        if referenced is not None:
            self.entries[point_id].update(self.outcome.referenced[referenced].entries())
        elif _stored(self.baselines, point_id, METRIC):
            # Recording the rest would leave it from another state of the model.
            self.outcome.not_recorded[f"{point_id} {METRIC}"] = (
                "recorded before and not measured now: record it again with --triton-perf-reference"
            )

    def side_by_side(self, workload: Workload, load: Concurrency, against: BaselineSide) -> None:
        """The load point measured side by side with the baseline deployment's model, and judged."""
        point_id = baseline_id(self.config, load.label)
        rounds = self.plan.against or Rounds()
        try:
            with self.measuring():
                verdict, slices = measure_against(
                    self.endpoint, workload, against, load, self.settings, rounds, point_id
                )
        except ClientSaturated as saturated:
            self.outcome.unchecked.append(f"{point_id}: not measured against the baseline deployment: {saturated}")
            return
        except MeasurementFailed as failed:  # a request either side failed: named, and the other points go on
            self.outcome.against_failures.append(f"{point_id}: not measured against the baseline deployment: {failed}")
            return
        self.outcome.against[load.label] = AgainstPoint(verdict, *slices.throughputs())
        self.progress(f"{point_id}: against {against.label}: {verdict.line()}")
        if verdict.outcome is Outcome.REGRESSED:
            self.outcome.against_failures.append(
                f"{point_id}: regressed against the baseline deployment ({against.label}): {verdict.line()}"
            )
        elif verdict.outcome is Outcome.INCONCLUSIVE:
            self.outcome.unchecked.append(
                f"{point_id}: inconclusive against the baseline deployment after {verdict.pairs} slice pairs "
                f"({verdict.seconds:.0f} s): {verdict.line()}"
            )
