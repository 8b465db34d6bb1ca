"""Config search: each model's best serving configuration under the constraints, written out as a model repository
with a report (off unless --triton-search=quick or brute; --update-baselines stores the recommendation). Without a
search, the stored recommendations are measured again and judged against their figures and the constraints."""

from __future__ import annotations

import warnings

import pytest

from pytest_triton.baselines.context import SEARCH
from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.outcomes import advised, triton_outcome, triton_verdict
from pytest_triton.report.run import SuiteOutcome, log_outcome
from pytest_triton.search.output import write_search
from pytest_triton.search.recommendations import recheck, record_recommendation, stored_recommendations
from pytest_triton.search.run import run_search
from pytest_triton.search.sweep import concurrency_of


def test_best_serving_configuration(
    triton_search_model,
    triton_search_plan,
    triton_session,
    triton_accuracy,
    triton_baselines,
    triton_results,
    triton_progress,
    triton_measuring,
    record_property,
):
    spec = triton_search_model
    context = triton_baselines.context(SEARCH)
    with triton_outcome():
        context.baseline()  # a malformed file stops the search before it measures anything
        outcome = run_search(
            triton_session, spec, triton_search_plan, triton_accuracy, triton_progress, triton_measuring
        )
        written = write_search(triton_session, spec, outcome)
        recorded = record_recommendation(outcome, context)
    record_property("configurations_measured", outcome.measured)
    record_property("configurations_from_checkpoint", outcome.resumed)
    record_property("grid_size", outcome.grid_size)
    record_property("wall_s", round(outcome.wall_s, 1))
    record_property("report", str(written / "report.md"))
    recommended = outcome.recommended
    point = recommended.point if recommended else None
    if recorded and recommended is not None and point is not None:  # the search's own report holds the rest
        config = f"{spec.name}-{recommended.result.candidate.id}"
        log_outcome(triton_results, SuiteOutcome(SEARCH, config, (point,), (), tuple(recorded), context.path))
    triton_verdict(recommended is not None and point is not None, outcome.no_recommendation)
    record_property("recommended", recommended.result.candidate.id)
    record_property("recommended_throughput", round(point.throughput, 2))
    triton_progress(
        f"{spec.name}: recommended {recommended.result.candidate.id} ({point.throughput:.1f} inf/s at "
        f"concurrency {concurrency_of(point)}); report: {written / 'report.md'}"
    )


def test_stored_recommendations(
    triton_search_plan,
    triton_session,
    triton_models,
    triton_baselines,
    triton_results,
    triton_progress,
    triton_measuring,
    record_property,
):
    """What a search recommended and --update-baselines stored, measured again: fast, since only those."""
    if triton_search_plan.mode != "off":
        pytest.skip("a search runs in this run: its own test judges what it finds")
    context = triton_baselines.context(SEARCH)
    specs = {spec.name: spec for spec in triton_models}
    with triton_outcome():
        stored = stored_recommendations(context.baseline(), list(specs))
    if not stored:
        pytest.skip(
            f"no search recommendation is stored for {', '.join(specs)} in {context.path}: "
            "--triton-search=quick --update-baselines stores one"
        )
    failures, skipped = [], []
    for recommendation in stored:  # each judged on its own: one that cannot run here hides no other's regression
        try:
            checked = recheck(
                triton_session,
                specs[recommendation.model],
                recommendation,
                triton_search_plan.settings,
                triton_search_plan.constraints,
                context,
                triton_measuring,
            )
        except Unsupported as error:
            skipped.append(f"{recommendation.id}: {error}")
            continue
        except TritonPluginError as error:
            failures.append(f"{recommendation.id}: {advised(error)}")
            continue
        m = checked.measurement
        triton_progress(f"{recommendation.id}: {m.throughput:.1f} inf/s, p99 {m.latency.p99_us / 1000:.2f} ms")
        record_property(f"{recommendation.id}.throughput_infer_per_s", round(m.throughput, 2))
        log_outcome(
            triton_results,
            SuiteOutcome(
                SEARCH,
                recommendation.config,
                (m,),
                tuple(checked.comparisons),
                tuple(checked.recorded),
                context.path,
                context.stack_changes(),
            ),
        )
        failures += checked.failures
    for line in skipped:
        warnings.warn(f"not measured: {line}", stacklevel=1)
    triton_verdict(not failures, lambda: "\n".join(failures))
    if len(skipped) == len(stored):
        pytest.skip("no stored recommendation can run here: " + "; ".join(skipped))
