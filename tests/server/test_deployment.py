"""deployment + repository.store + client: an exported artifact served by a real (bundled) tritonserver.

The bundled server has the python backend only, so the native path is checked up to the server's refusal
and the python runner path is checked end to end against the eager module.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.utils import InferenceServerException

from pytest_triton.checks.parity import compare
from pytest_triton.checks.tolerance import DEFAULT_TOLERANCES
from pytest_triton.errors import ModelLoadError
from pytest_triton.export.cache import ExportCache
from pytest_triton.export.fingerprint import weights_digest
from pytest_triton.models.zoo import zoo_spec
from pytest_triton.repository.backends import probe_backends
from pytest_triton.repository.deployment import deploy
from pytest_triton.repository.policy import BatchingPolicy
from pytest_triton.repository.python_runner import MODEL_FILE
from pytest_triton.repository.store import ModelRepository
from pytest_triton.server.bundled import bundled_installation
from pytest_triton.server.client import TritonClient
from pytest_triton.server.local import LocalServer

WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    work = tmp_path_factory.mktemp("deploy")
    spec = zoo_spec("resnext-small")
    module = spec.build()
    digest = weights_digest(module)
    cache = ExportCache(work / "cache")
    artifacts = {fmt: cache.get(spec, module, digest, fmt, "fp32", "cpu") for fmt in ("onnx", "ts-trace")}
    server = LocalServer(bundled_installation(work), work / "repository", work / "logs", worker_index=WORKER)
    endpoint = server.start()
    client = TritonClient(endpoint, "grpc")
    try:
        repository = ModelRepository(client, server.repository)
        deployment = deploy(repository, spec, artifacts["onnx"], ("python",))
        yield {
            "spec": spec,
            "module": module,
            "artifacts": artifacts,
            "server": server,
            "endpoint": endpoint,
            "client": client,
            "repository": repository,
            "deployment": deployment,
        }
    finally:
        client.close()
        server.stop()


def eager(module, spec, case):
    with torch.no_grad():
        return {spec.outputs[0].name: module(torch.from_numpy(case.inputs["input"])).numpy()}


def test_python_backend_deployment_and_its_files(world):
    deployment, server, spec = world["deployment"], world["server"], world["spec"]
    assert deployment.model_name == "resnext-small-onnx-fp32"
    assert deployment.backend == "python"
    assert deployment.variant == "onnx-fp32"
    assert deployment.inputs == spec.inputs and deployment.outputs == spec.outputs
    model_dir = server.repository / deployment.model_name
    assert sorted(
        str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ) == [
        "1/model.onnx",
        "1/model.py",
        "config.pbtxt",
    ]
    # The artifact is hard-linked from the cache (same file system here), not copied.
    assert (model_dir / "1" / "model.onnx").stat().st_ino == world["artifacts"]["onnx"].path.stat().st_ino
    assert (model_dir / "1" / "model.py").read_bytes() == MODEL_FILE.read_bytes()
    config = deployment.config
    assert config.backend == "python"
    assert {k: v.string_value for k, v in config.parameters.items()} == {"format": "onnx", "artifact": "model.onnx"}
    assert config.HasField("dynamic_batching")


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_served_outputs_match_the_eager_module(world, protocol):
    spec, deployment = world["spec"], world["deployment"]
    with TritonClient(world["endpoint"], protocol) as client:
        assert client.is_model_ready(deployment.model_name)
        for case in spec.make_samples():
            served = client.infer(deployment.model_name, dict(case.inputs), ["logits"])
            (diff,) = compare(served, eager(world["module"], spec, case), {"logits": DEFAULT_TOLERANCES["fp32"]})
            assert diff.within, (case.label, diff)


def test_served_config_is_the_same_over_both_protocols(world):
    name = world["deployment"].model_name
    with TritonClient(world["endpoint"], "http") as http:
        via_http = http.model_config(name)
    via_grpc = world["client"].model_config(name)
    assert isinstance(via_grpc, mc.ModelConfig) and isinstance(via_http, mc.ModelConfig)
    assert via_grpc == via_http
    assert via_grpc.backend == "python"
    assert via_grpc.max_batch_size == 8
    assert [i.name for i in via_grpc.input] == ["input"]


def test_metadata_index_and_statistics(world):
    client, name = world["client"], world["deployment"].model_name
    metadata = client.model_metadata(name)
    assert metadata["name"] == name
    assert [i["name"] for i in metadata["inputs"]] == ["input"]
    assert [o["name"] for o in metadata["outputs"]] == ["logits"]
    index = {m["name"]: m for m in client.repository_index()}
    assert index[name]["state"] == "READY"
    before = client.statistics(name)
    case = world["spec"].make_samples()[1]
    client.infer(name, dict(case.inputs), ["logits"])
    # The python backend hands the response back before the server books the request in its statistics,
    # so a read straight after infer can still show the old counters (seen once in CI); wait, within a bound.
    deadline = time.monotonic() + 10
    while (after := client.statistics(name)).execution_count == before.execution_count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert after.inference_count == before.inference_count + case.batch_size
    assert after.execution_count == before.execution_count + 1
    assert after.durations_ns["success"][0] == before.durations_ns.get("success", (0, 0))[0] + 1
    assert "version" in client.server_metadata()


def test_a_bad_request_is_refused_with_the_servers_message(world):
    name = world["deployment"].model_name
    with pytest.raises(InferenceServerException) as info:
        world["client"].infer(name, {"input": np.zeros((1, 3, 16, 16), np.float32)}, ["logits"])
    assert "input" in info.value.message()


def test_native_backend_missing_is_a_model_load_error_with_the_servers_reason(world):
    """A server without the libtorch backend refuses; the config still uses libtorch's tensor names."""
    with pytest.raises(ModelLoadError) as info:
        deploy(world["repository"], world["spec"], world["artifacts"]["ts-trace"], ("pytorch",), name="native-ts")
    message = str(info.value)
    assert "'native-ts'" in message
    assert "pytorch" in message.lower()
    written = (world["server"].repository / "native-ts" / "config.pbtxt").read_text()
    assert 'platform: "pytorch_libtorch"' in written
    assert 'name: "input__0"' in written and 'name: "output__0"' in written


def test_repository_api_placement_without_a_directory(world):
    """Without a directory the files travel inside the load request (as for a remote server)."""
    repository = ModelRepository(world["client"], None)
    deployment = deploy(
        repository,
        world["spec"],
        world["artifacts"]["onnx"],
        ("python",),
        name="via-api",
        batching=BatchingPolicy(enabled=False),
    )
    try:
        assert not (world["server"].repository / "via-api").exists()
        assert world["client"].is_model_ready("via-api")
        assert not world["client"].model_config("via-api").HasField("dynamic_batching")
        case = world["spec"].make_samples()[0]
        served = world["client"].infer("via-api", dict(case.inputs), ["logits"])
        (diff,) = compare(served, eager(world["module"], world["spec"], case), {"logits": DEFAULT_TOLERANCES["fp32"]})
        assert diff.within
    finally:
        world["client"].unload_model(deployment.model_name)
    assert not world["client"].is_model_ready("via-api")


def test_model_warmup_runs_at_load_and_a_reload_is_a_cold_start_again(world):
    """With warmup each instance answers a request of zeros before the model is ready; the cold start still counts
    as one (those inferences excepted). A reload starts the statistics over, and without a directory there is
    nothing to reload from."""
    from pytest_triton.checks.performance import load_cases, perf_workload
    from pytest_triton.errors import Unsupported
    from pytest_triton.perf.cold_start import first_requests
    from pytest_triton.repository.policy import InstancePolicy

    client, repository = world["client"], world["repository"]
    deployment = deploy(
        repository,
        world["spec"],
        world["artifacts"]["onnx"],
        ("python",),
        name="warm",
        instances=InstancePolicy(2),
        warmup=True,
    )
    try:
        (sample,) = client.model_config("warm").model_warmup
        assert [list(t.dims) for t in sample.inputs.values()] == [[3, 32, 32]] and sample.inputs["input"].zero_data
        assert deployment.warmup_inferences == 2 and client.statistics("warm").inference_count == 2
        workload = perf_workload(deployment, load_cases(deployment, 1))
        cold = first_requests(client, workload, deployment.load_s, deployment.warmup_inferences)
        assert cold.first_response_us > 0 and cold.load_s == deployment.load_s
        with pytest.raises(Unsupported, match="served requests already"):
            first_requests(client, workload, None, deployment.warmup_inferences)
        load_s = repository.reload("warm")
        assert load_s > 0 and client.statistics("warm").inference_count == 2  # the warm-up ran again
        first_requests(client, workload, load_s, deployment.warmup_inferences)
        with pytest.raises(Unsupported, match="cannot be reloaded"):
            ModelRepository(client, None).reload("warm")
    finally:
        client.unload_model("warm")


def test_probe_backends_finds_only_python_on_the_bundled_server(world):
    assert probe_backends(world["repository"]) == ("python",)
    # The probes' files went into the repository directory, not inside the load request: Triton writes those to a
    # folder in /tmp that outlives a failed load.
    assert (world["server"].repository / "pytest_triton_probe_onnxruntime" / "1" / "model.onnx").exists()
    # Probing leaves nothing loaded behind.
    assert not [
        m
        for m in world["client"].repository_index()
        if m["name"].startswith("pytest_triton_probe_") and m.get("state") == "READY"
    ]


SLOW_TO_LOAD = """
import time


class TritonPythonModel:
    def initialize(self, args):
        time.sleep(4)

    def execute(self, requests):
        return []
"""


def test_a_load_that_outlasts_the_load_timeout_is_a_clear_error(world, monkeypatch):
    """gRPC loads wait at most LOAD_TIMEOUT_S (600 s, here 1 s), so a hung load never hangs the run."""
    from pytest_triton.models.spec import TensorSpec
    from pytest_triton.repository.config import build_config, to_json
    from pytest_triton.server import client as client_module

    monkeypatch.setattr(client_module, "LOAD_TIMEOUT_S", 1.0)
    io = ((TensorSpec("x", "float32", (1,)),), (TensorSpec("y", "float32", (1,)),))
    config = build_config("slow-to-load", *io, max_batch_size=0, backend="python")
    began = time.monotonic()
    with pytest.raises(ModelLoadError, match=r"did not load model 'slow-to-load' within 1 s"):
        world["client"].load_model("slow-to-load", to_json(config), {"file:1/model.py": SLOW_TO_LOAD.encode()})
    assert time.monotonic() - began < 3.5
