"""Baseline ids are what committed baselines are filed under, so renaming any part of one orphans every stored
number. These pin the ids that the default plans make to the ids of the committed files."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_triton.baselines.context import remote_scope
from pytest_triton.kinds import DEFAULT_PRECISIONS, SERVED, baseline_id, variant_id
from pytest_triton.models.variant import Variant
from pytest_triton.models.zoo import DEFAULT_MODELS, ZOO, zoo_spec
from pytest_triton.options import read_options
from pytest_triton.perf.plan import PerfPlan

BASELINES = Path(__file__).resolve().parents[2] / "baselines"


def stored_ids(scope: str, suite: str) -> set[str]:
    return set(json.loads((BASELINES / scope / f"{suite}.json").read_text())["entries"])


def default_perf_plan() -> PerfPlan:
    return PerfPlan.from_options(read_options(lambda dest: None, tuple(ZOO)))


def _perf_ids(plan: PerfPlan) -> set[str]:
    variants = [Variant(zoo_spec(name), "onnx", "fp32") for name in DEFAULT_MODELS]
    return {baseline_id(point.id, load.label) for point in plan.points(variants) for load in plan.loads}


def test_perf_ids_of_the_default_plan_and_the_seeds_grid_are_the_committed_ones():
    grid = {
        "triton_perf_batch_sizes": "1,8",
        "triton_perf_concurrency": "1,4",
        "triton_perf_batching": "off,on",
        "triton_perf_instances": "1,2",
    }
    full = _perf_ids(PerfPlan.from_options(read_options(lambda dest: grid.get(dest), tuple(ZOO))))
    # resnext-small's entries there were dropped when it became the trained classifier: nobody here has that CPU.
    assert {i for i in full if i.startswith("bert-tiny-")} == stored_ids("cpu-amd-epyc-2c", "perf")
    assert "bert-tiny-onnx-fp32-b8-db100us-p4-p8-i2/c4" in full
    assert _perf_ids(default_perf_plan()) == {
        "bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1/c1",
        "resnext-small-onnx-fp32-b1-db100us-p4-p8-i1/c1",
    }


def test_accuracy_ids_are_the_committed_ones():
    ids = {
        baseline_id(variant_id("bert-tiny", fmt, precision), squad_set)
        for fmt in ("onnx", "ts-trace")
        for precision in DEFAULT_PRECISIONS
        for squad_set in ("synthetic-v1.1", "synthetic-v2.0")
    } | {
        baseline_id(variant_id("resnext-small", fmt, precision), "synthetic-images")
        for fmt in ("onnx", "ts-trace", "ts-script")
        for precision in DEFAULT_PRECISIONS
    }
    assert ids == stored_ids("accuracy", "accuracy")


def test_a_served_model_is_measured_as_served_at_each_batch_size_it_takes():
    served = Variant(zoo_spec("resnext-small"), SERVED, "fp32")
    plan = PerfPlan.from_options(read_options(lambda dest: "1,8" if dest == "triton_perf_batch_sizes" else None, ()))
    assert [p.id for p in plan.points([served])] == ["resnext-small-served-fp32-b1", "resnext-small-served-fp32-b8"]


def test_remote_perf_baselines_are_filed_under_the_servers_host():
    assert remote_scope("Triton.Internal:8001") == "remote-triton-internal"
    assert remote_scope("[::1]:8001") == "remote-1"
