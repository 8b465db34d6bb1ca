"""Conformance: the server is healthy, each model is served as exported, and bad requests fail cleanly."""

from __future__ import annotations

import numpy as np
import pytest
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from pytest_triton.checks.payload import served_inputs
from pytest_triton.repository.config import triton_dtype


def _first_case(deployment):
    return served_inputs(deployment, deployment.spec.make_samples()[0].inputs)


def test_server_live_and_ready(triton_session):
    client = triton_session.client
    assert client.is_live()
    assert client.is_ready()
    assert triton_session.facts.version, "the server reported no version"


def test_model_ready(triton_session, triton_deployment):
    assert triton_session.client.is_model_ready(triton_deployment.model_name)


def test_metadata_matches_signature(triton_session, triton_deployment):
    metadata = triton_session.client.model_metadata(triton_deployment.model_name)
    batch = [-1] if triton_deployment.max_batch_size > 0 else []
    for kind, expected in (("inputs", triton_deployment.inputs), ("outputs", triton_deployment.outputs)):
        served = {t["name"]: t for t in metadata[kind]}
        assert sorted(served) == sorted(t.name for t in expected), f"{kind} names differ"
        for tensor in expected:
            assert served[tensor.name]["datatype"] == np_to_triton_dtype(np.dtype(tensor.dtype))
            assert [int(d) for d in served[tensor.name]["shape"]] == batch + list(tensor.dims)


def test_config_matches_signature(triton_session, triton_deployment):
    config = triton_session.client.model_config(triton_deployment.model_name)
    assert config.max_batch_size == triton_deployment.max_batch_size
    for served, expected in ((config.input, triton_deployment.inputs), (config.output, triton_deployment.outputs)):
        assert [(t.name, t.data_type, list(t.dims)) for t in served] == [
            (t.name, triton_dtype(t.dtype), list(t.dims)) for t in expected
        ]
    if triton_deployment.backend != "remote":
        assert config.dynamic_batching.max_queue_delay_microseconds > 0
        assert config.instance_group[0].kind in (mc.ModelInstanceGroup.KIND_CPU, mc.ModelInstanceGroup.KIND_GPU)


def test_grpc_and_http_agree(triton_session, triton_deployment):
    if len(triton_session.endpoint.protocols) < 2:
        pytest.skip("only one protocol's address is known for this server (remote mode with one --triton-url)")
    inputs = _first_case(triton_deployment)
    names = [t.name for t in triton_deployment.outputs]
    with triton_session.new_client("grpc") as grpc, triton_session.new_client("http") as http:
        over_grpc = grpc.infer(triton_deployment.model_name, inputs, names)
        over_http = http.infer(triton_deployment.model_name, inputs, names)
    for name in names:
        np.testing.assert_array_equal(over_grpc[name], over_http[name], err_msg=f"output {name}")


def _wrong_name(deployment, inputs):
    first = next(iter(inputs))
    return {("not_" + first if k == first else k): v for k, v in inputs.items()}, "unexpected inference input"


def _wrong_dtype(deployment, inputs):
    first = next(iter(inputs))
    wrong = np.int8 if inputs[first].dtype != np.int8 else np.float64
    return {k: (v.astype(wrong) if k == first else v) for k, v in inputs.items()}, "data-type"


def _wrong_shape(deployment, inputs):
    first = next(iter(inputs))
    return {k: (v[..., None] if k == first else v) for k, v in inputs.items()}, "shape"


def _over_max_batch(deployment, inputs):
    size = deployment.max_batch_size + 1
    return {k: np.concatenate([v[:1]] * size) for k, v in inputs.items()}, "batch-size must be <="


@pytest.mark.parametrize("bad_request", [_wrong_name, _wrong_dtype, _wrong_shape, _over_max_batch], ids=lambda f: f.__name__[1:])
def test_bad_request_is_refused_cleanly(triton_session, triton_deployment, bad_request):
    good = _first_case(triton_deployment)
    inputs, expected_words = bad_request(triton_deployment, good)
    names = [t.name for t in triton_deployment.outputs]
    client = triton_session.client
    with pytest.raises(InferenceServerException) as refused:
        client.infer(triton_deployment.model_name, inputs, names)
    assert expected_words in refused.value.message().lower()
    assert client.is_ready() and client.is_model_ready(triton_deployment.model_name)
    assert client.infer(triton_deployment.model_name, good, names)  # still serves a good request
