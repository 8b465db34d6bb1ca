"""A config search for one model on a session's server: each candidate deployed alone, its answers checked under
load, swept over concurrency, checkpointed; the configurations ranked; the report and the model repository of the
best written (search.output). Works without pytest: the suite `suites/test_search.py` is a thin caller."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from dataclasses import dataclass
from typing import Callable, ContextManager

from pytest_triton.baselines.hardware import hardware_facts
from pytest_triton.checks.accuracy import AccuracyRun, evaluate_backend, triton_infer
from pytest_triton.checks.payload import spec_tolerances
from pytest_triton.checks.performance import Reference, perf_requests, perf_workload
from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.export.cache import check_supported
from pytest_triton.models.spec import ModelSpec
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.repository.deployment import Deployment
from pytest_triton.search.checkpoint import Checkpoint
from pytest_triton.search.objective import latency_bound
from pytest_triton.search.plan import SearchPlan
from pytest_triton.search.results import ConfigResult, Ranked, rank
from pytest_triton.search.space import Candidate, SearchSpace, SearchSpaceError
from pytest_triton.search.strategy import STRATEGIES
from pytest_triton.search.sweep import concurrency_of, sweep
from pytest_triton.session import TritonSession

CLIENT_BATCH = 1  # rows a request: concurrency and the dynamic batcher make the batches, as in production


@dataclass(frozen=True)
class SearchOutcome:
    model: str
    plan: SearchPlan
    space: SearchSpace
    ranked: tuple[Ranked, ...]
    measured: int  # configurations measured by this call
    resumed: int  # configurations taken from the checkpoint
    wall_s: float
    budget_spent: bool  # the time budget ended the search before its strategy did
    unsupported: tuple[str, ...] = ()  # formats and precisions left out of the space, with the reason

    @property
    def recommended(self) -> Ranked | None:
        return self.ranked[0] if self.ranked and self.ranked[0].eligible else None

    @property
    def grid_size(self) -> int:
        return len(self.space.candidates())

    def no_recommendation(self) -> str:
        """Why nothing is recommended: the closest configurations and what each broke."""
        closest = [r for r in self.ranked if not r.eligible][:3]
        lines = [f"no configuration of {self.model} keeps the constraints; the closest:"]
        lines += [f"  {r.result.candidate.id}: {'; '.join(r.broken)}" for r in closest]
        return "\n".join(lines)


def measurer(
    session: TritonSession,
    workload: Workload,
    settings: MeasurementSettings,
    measuring: Callable[[], ContextManager[None]] = contextlib.nullcontext,
) -> Callable[[int], Measurement]:
    """A function that measures `workload` at a concurrency, inside `measuring()`, over the protocol the session's
    server prefers."""
    endpoint = session.endpoint
    if endpoint is None:
        raise TritonPluginError("the Triton session was not started")
    settings = dataclasses.replace(settings, protocol=endpoint.preferred(settings.protocol))

    def at(concurrency: int) -> Measurement:
        with measuring():
            return measure(endpoint, workload, [Concurrency(concurrency)], settings)[0]

    return at


def checked_workload(session: TritonSession, deployment: Deployment, reference: Reference | None) -> Workload:
    """Requests of CLIENT_BATCH rows in rotation, a sample of whose answers is checked against `reference`
    (else the deployment's own answers one at a time) within the precision's tolerance."""
    tolerances = spec_tolerances(deployment, session.settings.tolerances)
    cases, answers = perf_requests(deployment, CLIENT_BATCH, tolerances, reference)
    return dataclasses.replace(perf_workload(deployment, cases), check=answers.check(session.client, deployment, cases))


def instance_devices(gpus: tuple[int, ...]) -> tuple[tuple[int, ...] | None, ...]:
    """Where instances may go: on a CPU run the CPU alone; on a GPU run every GPU given, each of them alone where
    there are several, and the CPU (a TensorRT plan will not load there, and is not recommended)."""
    if not gpus:
        return (None,)
    return (gpus, *([(gpu,) for gpu in gpus] if len(gpus) > 1 else []), ())


def search_space(session: TritonSession, spec: ModelSpec, plan: SearchPlan) -> tuple[SearchSpace, tuple[str, ...]]:
    """The plan's bounds over the run's formats and precisions that this device supports, and those it does not."""
    variants, unsupported = [], []
    for fmt in session.settings.formats:
        for precision in session.settings.precisions:
            try:
                check_supported(spec, fmt, precision, session.settings.device)
                variants.append((fmt, precision))
            except Unsupported as error:
                unsupported.append(f"{fmt}-{precision}: {error}")
    if not variants:
        raise SearchSpaceError(
            f"nothing to search for {spec.name}: " + ("; ".join(unsupported) or "no format and precision given"),
            options=("triton_formats", "triton_precisions"),
        )
    space = SearchSpace.bounded(
        tuple(variants),
        spec.max_batch_size,
        plan.max_batch_size,
        plan.queue_delays_us,
        plan.max_instances,
        instance_devices(session.settings.gpus),
    )
    return space, tuple(unsupported)


def checkpoint_key(session: TritonSession, spec: ModelSpec, plan: SearchPlan, accuracy: bool) -> str:
    """What makes two searches' figures comparable: the weights, the machine and device, the server, how points
    are measured, and how accuracy is held. (A sweep a latency limit ended is swept again by a search without
    that limit: run_search.)"""
    facts = session.facts
    described = "|".join(
        (
            session.weights_digest(spec) if spec.build is not None else spec.name,
            hardware_facts(session.settings.gpus).key(),
            session.settings.device,
            facts.version if facts else "",
            facts.launch_mode if facts else "",
            repr(plan.settings),
            str(plan.max_concurrency),
            f"accuracy {plan.accuracy_points}" if accuracy else "",
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def run_search(
    session: TritonSession,
    spec: ModelSpec,
    plan: SearchPlan,
    accuracy: AccuracyRun | None = None,
    progress: Callable[[str], None] = lambda line: None,
    measuring: Callable[[], ContextManager[None]] = contextlib.nullcontext,
) -> SearchOutcome:
    """Search `spec`'s serving configurations by `plan`, resuming from its checkpoint. `accuracy`: for a QA model,
    the SQuAD sets a format and precision must keep within `plan.accuracy_points` of the fp32 model. Each
    measurement runs inside `measuring()` (turns under xdist)."""
    endpoint = session.endpoint
    if endpoint is None:
        raise TritonPluginError("the Triton session was not started")
    if plan.mode == "off":
        raise TritonPluginError("the search is off: give a mode, quick or brute", options=("triton_search",))
    if not endpoint.manages_models:
        raise Unsupported(
            "a config search deploys each candidate configuration: it needs a server this run launches "
            "(local or docker mode), not one it only connects to"
        )
    began = time.monotonic()
    space, unsupported = search_space(session, spec, plan)
    key = checkpoint_key(session, spec, plan, accuracy is not None)
    checkpoint = Checkpoint.open(plan.directory / spec.name / "checkpoint.jsonl", key)
    reference = session.answers_reference(spec)
    total = len(space.candidates())
    counts = {"measured": 0, "resumed": 0}
    visited: dict[str, ConfigResult] = {}
    latency_limits = {limit.text for limit in latency_bound(plan.constraints)}
    budget_spent = False

    def ranked(results: list[ConfigResult]) -> list[Ranked]:
        return rank(results, plan.objective, plan.constraints)

    def accuracy_problem(deployment: Deployment) -> str:
        """Where the model answers questions: its EM/F1 drop from the fp32 model beyond the plan's points."""
        variant = deployment.variant
        if variant not in checkpoint.accuracy:
            problem = ""
            if accuracy is not None and spec.family == "bert" and spec.tokenizer_dir and spec.tokenizer_dir():
                squad = accuracy.sets(spec)[0]
                fp32 = accuracy.reference(spec, session.reference(spec), squad)
                # In batches this configuration takes: the first candidate of a variant may take one row only.
                batch = max(1, min(accuracy.plan.batch_size, deployment.max_batch_size))
                served = evaluate_backend(
                    squad,
                    triton_infer(session.client, deployment),
                    dataclasses.replace(accuracy.plan, batch_size=batch),
                )
                drops = {m: getattr(fp32, m) - getattr(served, m) for m in ("exact_match", "f1")}
                if max(drops.values()) > plan.accuracy_points:
                    problem = (
                        f"{variant} loses accuracy on {squad.name}: "
                        + ", ".join(f"{m} {-d:+.2f} points" for m, d in drops.items())
                        + f" from the fp32 model (allowed: {plan.accuracy_points})"
                    )
            checkpoint.add_accuracy(variant, problem)
        return checkpoint.accuracy[variant]

    def measured(candidate: Candidate, deployment: Deployment) -> ConfigResult:
        problem = accuracy_problem(deployment)
        if problem:  # never recommended, however fast: not worth measuring
            return ConfigResult(spec.name, candidate, (), deployment.load_s, problem)
        measure_at = measurer(session, checked_workload(session, deployment, reference), plan.settings, measuring)
        config = f"{spec.name}-{candidate.id}"
        points, problem, stopped_by = sweep(measure_at, plan.max_concurrency, plan.constraints, config, progress)
        return ConfigResult(spec.name, candidate, tuple(points), deployment.load_s, problem, stopped_by)

    def server_gone(candidate: Candidate) -> TritonPluginError:
        return TritonPluginError(
            f"the server stopped answering while {spec.name} {candidate.id} was measured; the "
            f"{len(checkpoint.configs)} configurations measured before are kept in {checkpoint.path}: run the "
            "same search again to measure only what is missing"
        )

    def evaluate(candidate: Candidate) -> ConfigResult | None:
        nonlocal budget_spent
        kept = checkpoint.configs.get(candidate.id)
        if kept is not None and (not kept.stopped_by or kept.stopped_by in latency_limits):
            counts["resumed"] += 1
            visited[candidate.id] = kept
            progress(f"{spec.name} {candidate.id}: from the checkpoint")
            return kept
        if time.monotonic() - began > plan.budget_s:
            budget_spent = True
            return None
        try:
            deployment = session.deployment(spec, candidate.format, candidate.precision, candidate.serving)
        except Unsupported as error:
            result = ConfigResult(spec.name, candidate, (), None, f"it cannot run here: {error}")
        except TritonPluginError as error:
            result = ConfigResult(spec.name, candidate, (), None, f"it failed to load: {error}")
        else:
            try:
                result = measured(candidate, deployment)
            except Exception:
                if not server_answers(session):
                    raise server_gone(candidate) from None
                raise
            finally:
                if server_answers(session):
                    session.unload(deployment)
        if result.problem and not server_answers(session):  # the server's failure, not the configuration's
            raise server_gone(candidate)
        counts["measured"] += 1
        checkpoint.add_config(result)
        visited[candidate.id] = result
        best = ranked(list(visited.values()))[0]
        done = counts["measured"] + counts["resumed"]
        progress(
            f"{spec.name} [{done}/{total}] {candidate.id}: {_summary(ranked([result])[0])}; best so far: "
            f"{best.result.candidate.id} {_summary(best)}"
        )
        return result

    results = STRATEGIES[plan.mode](space, evaluate, lambda found: climb_order(ranked(list(found))))
    return SearchOutcome(
        spec.name,
        plan,
        space,
        tuple(ranked(results)),
        counts["measured"],
        counts["resumed"],
        time.monotonic() - began,
        budget_spent,
        unsupported,
    )


def climb_order(ranked: list[Ranked]) -> list[tuple[str, float]]:
    """strategy.Order from a ranking: the score within the constraints, minus the place outside them."""
    return [(r.result.candidate.id, r.score if r.eligible else -float(place)) for place, r in enumerate(ranked, 1)]


def server_answers(session: TritonSession) -> bool:
    from tritonclient.utils import InferenceServerException

    try:
        return session.client.is_live()
    except (InferenceServerException, OSError):
        return False


def _summary(ranked: Ranked) -> str:
    point = ranked.point
    if point is None:
        return ranked.broken[0] if ranked.broken else "nothing measured"
    figures = (
        f"{point.throughput:.1f} inf/s at concurrency {concurrency_of(point)}, p99 {point.latency.p99_us / 1000:.2f} ms"
    )
    return figures if ranked.eligible else f"{figures} ({'; '.join(ranked.broken)})"
