"""The perf check: measure one configuration across its load points, judge each against its baseline."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Callable, ContextManager

import numpy as np

from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.verdict import Comparison, compare_entries
from pytest_triton.checks.payload import served_inputs
from pytest_triton.errors import Unsupported
from pytest_triton.export.cache import largest_sample
from pytest_triton.kinds import baseline_id
from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.cold_start import ColdStart, first_requests
from pytest_triton.perf.judge import judge
from pytest_triton.perf.limits import check_limits
from pytest_triton.perf.measure import measure
from pytest_triton.perf.plan import PerfPlan
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.workload import Workload
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
    unchecked_limits: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [c.message for c in self.comparisons if c.failed] + self.broken_limits


def perf_workload(deployment: Deployment, batch_size: int) -> Workload:
    """Requests of `batch_size` rows from the spec's largest sample (BERT: its longest sequence); for a model without
    batching, the sample as it is (one inference a request). Unsupported where the model takes no such batch."""
    if batch_size > max(deployment.max_batch_size, 1):
        raise Unsupported(
            f"{deployment.model_name} takes batches of at most {max(deployment.max_batch_size, 1)} "
            f"(max_batch_size {deployment.max_batch_size}), not {batch_size}"
        )
    sample = largest_sample(deployment.spec)
    if deployment.max_batch_size == 0:
        rows = dict(sample)
    else:
        rows = {name: np.resize(array, (batch_size, *array.shape[1:])) for name, array in sample.items()}
    return Workload(
        model=deployment.model_name,
        inputs=served_inputs(deployment, rows),
        outputs=tuple(t.name for t in deployment.outputs),
        batch_size=batch_size,
    )


def _unfit_for_baseline(m: Measurement) -> str:
    if m.errors:
        return f"{m.errors} requests failed ({m.first_error})"
    if not m.stable:
        return "never stable (raise --triton-perf-window)"
    if m.client_saturated:
        return f"the client was saturated ({m.client_cpu_cores:.2f} cores): the figure measures the client"
    return ""


def run_perf(
    endpoint: ServerEndpoint,
    deployment: Deployment,
    config: str,
    batch_size: int,
    plan: PerfPlan,
    baselines: BaselineContext,
    progress: Callable[[str], None] = lambda line: None,
    measuring: Callable[[], ContextManager[None]] = contextlib.nullcontext,
) -> PerfOutcome:
    """Measure every load point of the plan, check it against the plan's limits, judge it against its baseline
    (re-measuring a suspected regression once), and record stable points as baselines when asked. Each
    measurement runs inside `measuring()`: under xdist, a turn with the machine alone (turns.Turns)."""
    workload = perf_workload(deployment, batch_size)
    # In a fleet, a server may answer over the other protocol only.
    settings = dataclasses.replace(plan.settings, protocol=endpoint.preferred(plan.settings.protocol))
    outcome = PerfOutcome(config)
    baselines.baseline()  # a malformed file stops the run before anything is measured, also when updating
    entries = {}
    with measuring(), TritonClient(endpoint, settings.protocol) as client:
        try:
            outcome.cold = first_requests(client, workload, deployment.load_s)
        except Unsupported:
            pass  # served before (another batch size of this deployment, or someone else's model): no cold start
    if outcome.cold is not None:
        point_id = baseline_id(config, "cold")
        progress(
            f"{point_id}: first response {outcome.cold.first_response_us / 1000:.2f} ms"
            + (f", loaded in {outcome.cold.load_s:.2f} s" if outcome.cold.load_s is not None else "")
        )
        if baselines.update:
            entries[point_id] = outcome.cold.entries()
        else:
            # Which config of a deployment serves it first depends on test order and on xdist (each worker deploys
            # its own), so a cold start without a baseline is reported, never failed as missing.
            cold = compare_entries(point_id, outcome.cold.entries(), baselines.baseline())
            outcome.comparisons += baselines.explained(cold)
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
        broken, unchecked = check_limits(plan.limits, config, measurement)
        outcome.broken_limits += broken
        outcome.unchecked_limits += unchecked
        reason = _unfit_for_baseline(measurement)
        if baselines.update:
            if reason:
                outcome.not_recorded[point_id] = reason
            else:
                entries[point_id] = measurement_entries(measurement)
            continue
        judged = judge(point_id, measurement, baselines.baseline(), strict=baselines.strict, remeasure=take)
        outcome.comparisons += baselines.explained(judged)
    outcome.recorded = baselines.record(entries)
    return outcome
