"""repository.config: ModelConfig protobufs built from specs, and their pbtxt / JSON forms."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.errors import Unsupported
from pytest_triton.export.cache import Artifact
from pytest_triton.models.spec import TensorSpec
from pytest_triton.models.zoo import zoo_spec
from pytest_triton.repository.config import (
    BatchingPolicy,
    InstancePolicy,
    build_config,
    graph_batch_sizes,
    to_json,
    to_pbtxt,
    triton_dtype,
)
from pytest_triton.repository.deployment import model_files

BERT_IN = tuple(TensorSpec(n, "int64", (-1,)) for n in ("input_ids", "token_type_ids", "attention_mask"))
BERT_OUT = (TensorSpec("start_logits", "float32", (-1,)), TensorSpec("end_logits", "float32", (-1,)))
IMAGE_IN = (TensorSpec("input", "float16", (3, 64, 64)),)
IMAGE_OUT = (TensorSpec("logits", "float16", (1000,)),)


def parse_pbtxt(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())


def test_pbtxt_round_trip_is_exact():
    config = build_config(
        "bert-tiny-onnx-fp32",
        BERT_IN,
        BERT_OUT,
        8,
        platform="onnxruntime_onnx",
        default_model_filename="model.onnx",
        batching=BatchingPolicy(preferred_batch_sizes=(4, 8), max_queue_delay_us=500),
        instances=InstancePolicy(count=2),
        parameters={"k": "v"},
    )
    text = to_pbtxt(config)
    assert isinstance(text, str)
    assert parse_pbtxt(text) == config


def test_names_platform_and_batch_size():
    config = parse_pbtxt(to_pbtxt(build_config("m", BERT_IN, BERT_OUT, 16, platform="pytorch_libtorch")))
    assert config.name == "m"
    assert config.max_batch_size == 16
    assert config.platform == "pytorch_libtorch"
    assert config.backend == ""
    assert config.default_model_filename == ""
    assert [i.name for i in config.input] == ["input_ids", "token_type_ids", "attention_mask"]
    assert [o.name for o in config.output] == ["start_logits", "end_logits"]
    assert all(list(t.dims) == [-1] for t in (*config.input, *config.output))


def test_dtypes():
    config = build_config("m", BERT_IN + IMAGE_IN, BERT_OUT + IMAGE_OUT, 8)
    by_name = {t.name: t.data_type for t in (*config.input, *config.output)}
    assert by_name["input_ids"] == mc.TYPE_INT64
    assert by_name["start_logits"] == mc.TYPE_FP32
    assert by_name["input"] == mc.TYPE_FP16
    assert by_name["logits"] == mc.TYPE_FP16
    assert list(config.input[3].dims) == [3, 64, 64]
    assert "data_type: TYPE_INT64" in to_pbtxt(config)
    assert "data_type: TYPE_FP16" in to_pbtxt(config)


@pytest.mark.parametrize(
    "dtype, expected",
    [
        ("bool", mc.TYPE_BOOL),
        ("uint8", mc.TYPE_UINT8),
        ("int8", mc.TYPE_INT8),
        ("int32", mc.TYPE_INT32),
        ("int64", mc.TYPE_INT64),
        ("float16", mc.TYPE_FP16),
        ("float32", mc.TYPE_FP32),
        ("float64", mc.TYPE_FP64),
    ],
)
def test_triton_dtype(dtype, expected):
    assert triton_dtype(dtype) == expected


def test_triton_dtype_of_string_tensors():
    assert triton_dtype("object") == mc.TYPE_STRING


def test_dynamic_batching_with_preferred_sizes_and_delay():
    config = build_config("m", IMAGE_IN, IMAGE_OUT, 8, batching=BatchingPolicy(True, (2, 4), 2500))
    parsed = parse_pbtxt(to_pbtxt(config))
    assert parsed.HasField("dynamic_batching")
    assert list(parsed.dynamic_batching.preferred_batch_size) == [2, 4]
    assert parsed.dynamic_batching.max_queue_delay_microseconds == 2500


def test_dynamic_batching_defaults():
    parsed = parse_pbtxt(to_pbtxt(build_config("m", IMAGE_IN, IMAGE_OUT, 8)))
    assert parsed.HasField("dynamic_batching")
    assert list(parsed.dynamic_batching.preferred_batch_size) == []
    assert parsed.dynamic_batching.max_queue_delay_microseconds == 100


def test_dynamic_batching_with_all_zero_values_is_still_on():
    """Proto3 scalars at their default values: the section must still be present, or batching is off."""
    config = build_config("m", IMAGE_IN, IMAGE_OUT, 8, batching=BatchingPolicy(True, (), 0))
    assert "dynamic_batching {" in to_pbtxt(config)
    assert parse_pbtxt(to_pbtxt(config)).HasField("dynamic_batching")


def test_dynamic_batching_off():
    off = BatchingPolicy(enabled=False, preferred_batch_sizes=(4,))
    config = build_config("m", IMAGE_IN, IMAGE_OUT, 8, batching=off)
    assert not config.HasField("dynamic_batching")
    assert "dynamic_batching" not in to_pbtxt(config)


def test_no_dynamic_batching_without_a_batch_dimension():
    config = build_config("m", IMAGE_IN, IMAGE_OUT, 0, batching=BatchingPolicy(True, (4,), 100))
    assert config.max_batch_size == 0
    assert not config.HasField("dynamic_batching")


def test_instance_group_cpu():
    config = build_config("m", IMAGE_IN, IMAGE_OUT, 8, instances=InstancePolicy(count=3))
    (group,) = parse_pbtxt(to_pbtxt(config)).instance_group
    assert group.kind == mc.ModelInstanceGroup.KIND_CPU
    assert group.count == 3
    assert list(group.gpus) == []


def test_instance_group_gpu():
    config = build_config("m", IMAGE_IN, IMAGE_OUT, 8, instances=InstancePolicy(count=2, gpus=(0, 2)))
    (group,) = parse_pbtxt(to_pbtxt(config)).instance_group
    assert group.kind == mc.ModelInstanceGroup.KIND_GPU
    assert group.count == 2
    assert list(group.gpus) == [0, 2]


def test_python_backend_with_parameters():
    config = build_config(
        "runner", IMAGE_IN, IMAGE_OUT, 8, backend="python", parameters={"format": "onnx", "artifact": "model.onnx"}
    )
    parsed = parse_pbtxt(to_pbtxt(config))
    assert parsed.backend == "python"
    assert parsed.platform == ""
    assert {k: v.string_value for k, v in parsed.parameters.items()} == {"format": "onnx", "artifact": "model.onnx"}
    assert 'key: "format"' in to_pbtxt(config)


def test_no_parameters_by_default():
    assert len(build_config("m", IMAGE_IN, IMAGE_OUT, 8).parameters) == 0


def test_to_json_parses_back_with_proto_field_names():
    config = build_config(
        "m",
        BERT_IN,
        BERT_OUT,
        8,
        backend="python",
        batching=BatchingPolicy(True, (8,), 100),
        instances=InstancePolicy(gpus=(1,)),
        parameters={"format": "ts-trace"},
    )
    text = to_json(config)
    data = json.loads(text)
    # The repository API wants the proto field names (max_batch_size), not the camelCase JSON names.
    assert data["max_batch_size"] == 8
    assert data["backend"] == "python"
    assert data["input"][0]["data_type"] == "TYPE_INT64"
    assert data["instance_group"][0]["kind"] == "KIND_GPU"
    assert data["dynamic_batching"]["preferred_batch_size"] == [8]
    assert data["parameters"]["format"] == {"string_value": "ts-trace"}
    assert json_format.Parse(text, mc.ModelConfig()) == config


def test_model_warmup_sends_one_row_of_zeros_with_the_variable_dims_fixed():
    dims = {"input_ids": (128,), "token_type_ids": (128,), "attention_mask": (128,)}
    parsed = parse_pbtxt(to_pbtxt(build_config("m", BERT_IN, BERT_OUT, 8, backend="python", warmup=dims)))
    (sample,) = parsed.model_warmup
    assert (sample.name, sample.batch_size, sample.count) == ("zeros", 1, 1)
    assert {name: (list(t.dims), t.zero_data, t.data_type) for name, t in sample.inputs.items()} == {
        name: ([128], True, mc.TYPE_INT64) for name in dims
    }
    assert not build_config("m", BERT_IN, BERT_OUT, 8).model_warmup


@pytest.mark.parametrize(("largest", "sizes"), [(0, [0]), (1, [1]), (6, [1, 2, 4, 6]), (8, [1, 2, 4, 8])])
def test_cuda_graphs_are_captured_at_powers_of_two_and_the_largest_batch(largest, sizes):
    assert graph_batch_sizes(largest) == sizes


def test_cuda_graphs_are_captured_at_the_samples_shapes():
    """A captured graph replays only its own shapes: a variable dim takes the samples' size."""
    dims = {"input_ids": (384,), "token_type_ids": (384,), "attention_mask": (384,)}
    parsed = parse_pbtxt(to_pbtxt(build_config("m", BERT_IN, BERT_OUT, 4, cuda_graphs=dims)))
    assert parsed.optimization.cuda.graphs
    assert [
        (g.batch_size, {n: list(s.dim) for n, s in g.input.items()}) for g in parsed.optimization.cuda.graph_spec
    ] == [(batch, {name: [384] for name in dims}) for batch in (1, 2, 4)]
    assert not build_config("m", BERT_IN, BERT_OUT, 4).HasField("optimization")


def test_only_a_tensorrt_plan_on_the_tensorrt_backend_takes_cuda_graphs(tmp_path):
    spec = zoo_spec("resnext-small")

    def files(fmt: str, backends: tuple[str, ...]):
        artifact = Artifact(tmp_path / "model", fmt, "fp16", "cuda", spec.inputs, spec.outputs, cache_hit=True)
        return model_files(spec, artifact, backends, "m", cuda_graphs=True)

    graphs = files("trt", ("tensorrt",)).config.optimization.cuda
    assert graphs.graphs and [g.batch_size for g in graphs.graph_spec] == [1, 2, 4, 8]
    assert list(graphs.graph_spec[0].input["input"].dim) == [3, 32, 32]
    for fmt, backends in [("onnx", ("onnxruntime", "tensorrt")), ("trt", ())]:
        with pytest.raises(Unsupported, match="CUDA graphs are captured by Triton's TensorRT backend"):
            files(fmt, backends)
