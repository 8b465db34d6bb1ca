"""report.labels reads back the ids that kinds, the serving policy and the perf plan write: each id of the perf grid
in words, so that a plot's legend says what was served and how."""

from __future__ import annotations

import pytest

from pytest_triton.kinds import variant_id
from pytest_triton.models.spec import ModelSpec, TensorSpec
from pytest_triton.models.variant import Variant
from pytest_triton.perf.plan import PerfPoint, dynamic_batching
from pytest_triton.report.labels import config_words, point_words
from pytest_triton.repository.policy import BatchingPolicy, ServingPolicy

SPEC = ModelSpec(
    name="bert-tiny",
    family="bert",
    build=None,
    inputs=(TensorSpec("input_ids", "int64", (-1,)),),
    outputs=(TensorSpec("start_logits", "float32", (-1,)),),
    make_samples=list,
)

CASES = [
    (PerfPoint(Variant(SPEC, "onnx", "fp32"), ServingPolicy(dynamic_batching(8), 2), 8),
     "bert-tiny onnx fp32: batch 8, dynamic batching (100 µs, prefers 4, 8), 2 instances"),
    (PerfPoint(Variant(SPEC, "ts-trace", "fp16"), ServingPolicy(BatchingPolicy(enabled=False)), 1),
     "bert-tiny ts-trace fp16: batch 1, no dynamic batching, 1 instance"),
    (PerfPoint(Variant(SPEC, "trt", "bf16"), ServingPolicy(dynamic_batching(4), 1, True, 4, (0, 1), True), 4),
     "bert-tiny trt bf16: batch 4, max batch 4, dynamic batching (100 µs, prefers 4), 1 instance, instances on GPU "
     "0, 1, warm-up at load, CUDA graphs"),
]  # fmt: skip


@pytest.mark.parametrize(("point", "words"), CASES, ids=[p.id for p, _ in CASES])
def test_perf_point_ids_read_back_in_words(point, words):
    assert config_words(point.id) == words


def test_a_variant_alone_and_ids_of_other_shapes():
    assert config_words(variant_id("my-ts-model", "ts-script", "fp32")) == "my-ts-model ts-script fp32"
    assert config_words("sleep-10ms") == "sleep-10ms"


def test_load_labels_in_words():
    assert [point_words(p) for p in ("c4", "r100", "r2.5-poisson", "cold", "synthetic-v1.1")] == [
        "concurrency 4",
        "100 req/s",
        "2.5 req/s (Poisson arrivals)",
        "cold start",
        "synthetic-v1.1",
    ]
