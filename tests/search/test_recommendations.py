"""Stored recommendations: filed under the model and the candidate's id, one per model, read back (in the file's
sorted order)."""

from __future__ import annotations

from pathlib import Path

from pytest_triton.baselines.context import SEARCH, BaselineContext
from pytest_triton.baselines.entry import BaselineKey
from pytest_triton.baselines.store import BaselineStore
from pytest_triton.perf.limits import parse_limits
from pytest_triton.search.output import pareto_front
from pytest_triton.search.plan import SearchPlan
from pytest_triton.search.recommendations import Stored, record_recommendation, stored_recommendations
from pytest_triton.search.results import ConfigResult, rank
from pytest_triton.search.run import SearchOutcome
from pytest_triton.search.space import Candidate, SearchSpace

SPACE = SearchSpace.bounded((("onnx", "fp32"),), 8, None, (100,), 2)


def outcome(model: str, candidate: Candidate, point, tmp_path: Path) -> SearchOutcome:
    plan = SearchPlan("quick", tmp_path)
    ranked = rank([ConfigResult(model, candidate, (point,))], plan.objective, ())
    return SearchOutcome(model, plan, SPACE, tuple(ranked), 1, 0, 10.0, False)


def test_a_new_recommendation_replaces_the_models_earlier_one_and_no_other(tmp_path, point):
    context = BaselineContext(BaselineStore(tmp_path), BaselineKey("cpu-test", SEARCH), {}, update=True)
    first = Candidate("onnx", "fp32", 1, None, 1)
    second = Candidate("onnx", "fp32", 4, 100, 2)
    assert record_recommendation(outcome("bert-tiny", first, point(100, 5, 2), tmp_path), context) == [
        "bert-tiny-onnx-fp32-mb1-nodb-i1/c2"
    ]
    record_recommendation(outcome("resnext-small", first, point(50, 5, 1), tmp_path), context)
    record_recommendation(outcome("bert-tiny", second, point(300, 5, 4), tmp_path), context)
    stored = stored_recommendations(context.store.load(context.key), ["bert-tiny", "resnext-small", "bert"])
    assert sorted(stored, key=lambda s: s.model) == [Stored("bert-tiny", second, 4), Stored("resnext-small", first, 1)]
    assert context.store.load(context.key).entries[Stored("bert-tiny", second, 4).id]["throughput"].value == 300


def test_the_same_recommendation_stored_again_keeps_its_reviewed_tolerance(tmp_path, point):
    import json

    context = BaselineContext(BaselineStore(tmp_path), BaselineKey("cpu-test", SEARCH), {}, update=True)
    chosen = Candidate("onnx", "fp32", 2, 100, 1)
    record_recommendation(outcome("m", chosen, point(100, 5, 2), tmp_path), context)
    document = json.loads(context.path.read_text())
    document["entries"]["m-onnx-fp32-mb2-db100us-i1/c2"]["throughput"]["tolerance"] = 0.35  # widened in review
    context.path.write_text(json.dumps(document))
    record_recommendation(outcome("m", chosen, point(120, 5, 2), tmp_path), context)
    entry = context.store.load(context.key).entries["m-onnx-fp32-mb2-db100us-i1/c2"]["throughput"]
    assert (entry.value, entry.tolerance) == (120, 0.35)


def test_ids_that_are_no_recommendation_are_left_alone(tmp_path, point):
    from pytest_triton.baselines.entry import BaselineFile

    entries = {"m-onnx-fp32-mb2-db100us-i1/c0": {}, "m-onnx-fp32-mb2-db100us-i1-gpu./c1": {}, "m-onnx-fp32/c1": {}}
    assert stored_recommendations(BaselineFile(BaselineKey("cpu-test", SEARCH), {}, entries), ["m"]) == []


def test_nothing_is_stored_without_a_recommendation(tmp_path, point):
    context = BaselineContext(BaselineStore(tmp_path), BaselineKey("cpu-test", SEARCH), {}, update=True)
    unmet = outcome("m", Candidate("onnx", "fp32", 1, None, 1), point(10, 50, 1), tmp_path)
    unmet = SearchOutcome(
        "m",
        unmet.plan,
        SPACE,
        tuple(rank([unmet.ranked[0].result], unmet.plan.objective, parse_limits("p99<=1ms"))),
        1,
        0,
        1.0,
        False,
    )
    assert unmet.recommended is None and record_recommendation(unmet, context) == []
    assert "no configuration of m keeps the constraints; the closest:\n  onnx-fp32-mb1-nodb-i1: " in (
        unmet.no_recommendation()
    )


def test_the_pareto_front_keeps_points_no_other_beats_at_both():
    points = [(100, 5), (150, 5), (120, 8), (300, 20), (250, 30), (90, 4)]
    assert pareto_front(points) == [(90, 4), (150, 5), (300, 20)]
