"""checks.conformance on a stub client: what each check reports when the server's answer differs from the export
(the suites see only servers that conform)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pytest
from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.checks.conformance import (
    BAD_REQUESTS,
    ConformanceResult,
    config_matches_signature,
    metadata_matches_signature,
    protocols_agree,
)
from pytest_triton.errors import Unsupported
from pytest_triton.models.spec import TensorSpec
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.endpoint import ServerEndpoint

DEPLOYMENT = Deployment(
    "m-onnx-fp32",
    None,
    "onnx",
    "fp32",
    "python",  # type: ignore[arg-type]
    (TensorSpec("input", "float32", (3, 8, 8)),),
    (TensorSpec("logits", "float32", (10,)),),
    8,
)


@dataclass
class StubClient:
    endpoint: ServerEndpoint = ServerEndpoint("local", "127.0.0.1:8001", "127.0.0.1:8000")
    metadata: dict = field(default_factory=dict)
    config: mc.ModelConfig = field(default_factory=mc.ModelConfig)

    def model_metadata(self, name: str) -> dict:
        return self.metadata

    def model_config(self, name: str) -> mc.ModelConfig:
        return self.config


def _metadata(input_shape, output_datatype="FP32"):
    return {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": input_shape}],
        "outputs": [{"name": "logits", "datatype": output_datatype, "shape": ["-1", "10"]}],
    }


def test_metadata_as_exported_passes_over_either_protocol():
    for shape in (["-1", "3", "8", "8"], [-1, 3, 8, 8]):  # gRPC gives dims as strings, HTTP as numbers
        assert metadata_matches_signature(StubClient(metadata=_metadata(shape)), DEPLOYMENT).ok


def test_metadata_problems_name_the_served_and_the_exported_tensors():
    result = metadata_matches_signature(StubClient(metadata=_metadata([-1, 8, 8, 3], "FP16")), DEPLOYMENT)
    assert result.problems == (
        "inputs: served [('input', 'FP32', [-1, 8, 8, 3])], exported [('input', 'FP32', [-1, 3, 8, 8])]",
        "outputs: served [('logits', 'FP16', [-1, 10])], exported [('logits', 'FP32', [-1, 10])]",
    )
    assert result.report().startswith("m-onnx-fp32: metadata against the exported signature:\n  inputs: served")


def _config(max_batch_size=8, delay=100, kind=mc.ModelInstanceGroup.KIND_CPU):
    config = mc.ModelConfig(max_batch_size=max_batch_size)
    config.input.add(name="input", data_type=mc.TYPE_FP32, dims=[3, 8, 8])
    config.output.add(name="logits", data_type=mc.TYPE_FP32, dims=[10])
    config.dynamic_batching.max_queue_delay_microseconds = delay
    config.instance_group.add(kind=kind)
    return config


def test_config_as_exported_passes():
    assert config_matches_signature(StubClient(config=_config()), DEPLOYMENT).ok


def test_config_problems_say_what_differs():
    result = config_matches_signature(
        StubClient(config=_config(max_batch_size=4, delay=0, kind=mc.ModelInstanceGroup.KIND_MODEL)), DEPLOYMENT
    )
    assert result.problems == (
        "max_batch_size: served 4, exported 8",
        "dynamic batching has no max_queue_delay_microseconds",
        "instance group kinds ['KIND_MODEL']: expected the first to be KIND_CPU or KIND_GPU",
    )


def test_protocols_cannot_be_compared_with_one_address_known():
    client = StubClient(endpoint=ServerEndpoint("remote", "triton.internal:8001", None))
    with pytest.raises(Unsupported, match=r"only one protocol's address is known for this server \(remote mode, grpc"):
        protocols_agree(client, DEPLOYMENT)  # type: ignore[arg-type]


def test_each_bad_request_spoils_the_first_input_or_the_batch():
    good = {"a": np.zeros((2, 3), np.float32), "b": np.ones((2, 3), np.int64)}
    spoiled = {bad.name: bad.spoil(DEPLOYMENT, good) for bad in BAD_REQUESTS}
    assert list(spoiled) == ["wrong_name", "wrong_dtype", "wrong_shape", "over_max_batch"]  # the suite's test ids
    assert list(spoiled["wrong_name"]) == ["not_a", "b"]
    assert [v.dtype for v in spoiled["wrong_dtype"].values()] == [np.int8, np.int64]
    assert [v.shape for v in spoiled["wrong_shape"].values()] == [(2, 3, 1), (2, 3)]
    assert [v.shape for v in spoiled["over_max_batch"].values()] == [(9, 3), (9, 3)]  # max_batch_size 8


def test_no_problem_is_a_pass():
    assert ConformanceResult("m", "check").ok and not ConformanceResult("m", "check", ("off",)).ok


def test_a_spec_that_forgets_the_model_does_not_batch_gets_a_hint():
    result = config_matches_signature(StubClient(config=_config(max_batch_size=0)), DEPLOYMENT)
    assert "max_batch_size: served 0, exported 8; the served model does not batch: declare max_batch_size=0" in (
        result.report()
    )


def test_a_model_without_batching_needs_no_dynamic_batcher_and_has_no_batch_to_exceed():
    unbatched = dataclasses.replace(DEPLOYMENT, max_batch_size=0)
    assert config_matches_signature(StubClient(config=_config(max_batch_size=0, delay=0)), unbatched).ok
    (over,) = [bad for bad in BAD_REQUESTS if bad.name == "over_max_batch"]
    with pytest.raises(Unsupported, match=r"does not batch \(max_batch_size 0\)"):
        over.spoil(unbatched, {"input": np.zeros((3, 8, 8), np.float32)})
