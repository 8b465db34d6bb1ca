"""Saving a deployment (repository.saved) and finding a candidate's model in a baseline deployment
(repository.baseline_deployment): the manifest and its schema, which model stands for which, and every way a
baseline can be unfit, each named with what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.errors import BaselineDeploymentError
from pytest_triton.models.spec import TensorSpec
from pytest_triton.repository.baseline_deployment import (
    baseline_model,
    check_signature,
    directory_models,
    load_from_directory,
)
from pytest_triton.repository.baseline_source import BaselineSource
from pytest_triton.repository.deployment import ModelFiles
from pytest_triton.repository.saved import MANIFEST, SavedModel, read_manifest, save_model

ENTRY = SavedModel(
    model="bert-tiny",
    format="onnx",
    precision="fp32",
    serving="",
    max_batch_size=8,
    served_by="python",
    weights_digest="ab" * 32,
    code_digest="cd" * 32,
    saved_at="2026-12-04T15:00:00+00:00",
    versions={"triton": "2.51.0", "tensorrt": None},
)


def _made(tmp_path: Path, name: str) -> ModelFiles:
    artifact = tmp_path / f"{name}.onnx"
    artifact.write_bytes(b"onnx bytes")
    config = mc.ModelConfig(name=name, backend="python", max_batch_size=8)
    files: dict[str, Path | bytes] = {"1/model.onnx": artifact, "1/model.py": b"# the runner\n"}
    return ModelFiles(config, files, "python", (), ())


def test_a_saved_model_keeps_its_files_its_runner_and_its_manifest_entry(tmp_path):
    saved = tmp_path / "saved"
    save_model(saved, "bert-tiny-onnx-fp32", _made(tmp_path, "bert-tiny-onnx-fp32"), ENTRY)
    save_model(saved, "other", _made(tmp_path, "other"), ENTRY)
    model = saved / "bert-tiny-onnx-fp32"
    assert (model / "1" / "model.onnx").read_bytes() == b"onnx bytes"
    assert (model / "1" / "model.py").read_text() == "# the runner\n"
    assert 'name: "bert-tiny-onnx-fp32"' in (model / "config.pbtxt").read_text()
    assert read_manifest(saved) == {"bert-tiny-onnx-fp32": ENTRY, "other": ENTRY}
    assert directory_models(saved) == ("bert-tiny-onnx-fp32", "other")
    # Saved again (a later run on main), a model's directory is replaced whole.
    (model / "1" / "stale.bin").write_bytes(b"x")
    save_model(saved, "bert-tiny-onnx-fp32", _made(tmp_path, "bert-tiny-onnx-fp32"), ENTRY)
    assert not (model / "1" / "stale.bin").exists()


def test_a_repository_without_a_manifest_is_taken_as_it_is(tmp_path):
    (tmp_path / "prod" / "bert" / "1").mkdir(parents=True)
    assert read_manifest(tmp_path / "prod") is None
    assert directory_models(tmp_path / "prod") == ("bert",)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "cannot be read as JSON"),
        (json.dumps({"schema_version": 1}), "at the top level: 'models' is a required property"),
        (json.dumps({"schema_version": 1, "models": {"m": {"model": "m"}}}), "at models/m"),
    ],
)
def test_a_corrupt_manifest_is_named_with_what_to_do(tmp_path, text, says):
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(BaselineDeploymentError, match="save the deployment again") as info:
        read_manifest(tmp_path)
    assert says in str(info.value) and str(tmp_path / MANIFEST) in str(info.value)


def test_a_partial_directory_and_a_missing_one_are_named(tmp_path):
    saved = tmp_path / "saved"
    save_model(saved, "gone", _made(tmp_path, "gone"), ENTRY)
    (saved / "gone" / "config.pbtxt").unlink()
    with pytest.raises(BaselineDeploymentError, match="has no config.pbtxt: the directory is partial"):
        load_from_directory(None, saved, "gone")  # type: ignore[arg-type]  # fails before any server is asked
    shutil.rmtree(saved / "gone")
    with pytest.raises(BaselineDeploymentError, match="is partial: its manifest.json lists gone"):
        directory_models(saved)
    with pytest.raises(BaselineDeploymentError, match="is not a directory"):
        directory_models(tmp_path / "nowhere")


def test_a_config_that_is_not_one_is_named(tmp_path):
    model = tmp_path / "m"
    (model / "1").mkdir(parents=True)
    (model / "config.pbtxt").write_text("max_batch_size: eight")
    with pytest.raises(BaselineDeploymentError, match=r"m/config.pbtxt is not a valid model config"):
        load_from_directory(None, tmp_path, "m")  # type: ignore[arg-type]


def test_which_model_stands_for_a_candidate():
    source = BaselineSource(directory=Path("prod"), names={"resnext-small": "resnext_prod"})
    available = ("bert-tiny", "bert-tiny-onnx-fp32", "resnext_prod")
    assert baseline_model("bert-tiny-onnx-fp32", "bert-tiny", available, source) == "bert-tiny-onnx-fp32"
    assert baseline_model("bert-tiny-onnx-fp16", "bert-tiny", available, source) == "bert-tiny"  # by model name
    assert baseline_model("resnext-small-onnx-fp32", "resnext-small", available, source) == "resnext_prod"
    with pytest.raises(BaselineDeploymentError) as info:
        baseline_model("gpt-onnx-fp32", "gpt", available, source)
    assert "has no model 'gpt-onnx-fp32' or 'gpt' (it holds bert-tiny, bert-tiny-onnx-fp32, resnext_prod)" in str(
        info.value
    )
    assert info.value.options == ("triton_perf_against_model",)
    mapped = BaselineSource(directory=Path("prod"), names={"gpt": "gpt_prod"})
    with pytest.raises(BaselineDeploymentError, match="has no model 'gpt_prod' \\(mapped to gpt\\)"):
        baseline_model("gpt-onnx-fp32", "gpt", available, mapped)
    # A mapping is followed or fails: it never falls back to a model of the same name.
    wrong = BaselineSource(directory=Path("prod"), names={"bert-tiny": "bert_prod"})
    with pytest.raises(BaselineDeploymentError, match="has no model 'bert_prod'"):
        baseline_model("bert-tiny-onnx-fp32", "bert-tiny", available, wrong)


def test_the_baseline_must_take_the_same_requests():
    inputs = (TensorSpec("input_ids", "int64", (16,)),)
    outputs = (TensorSpec("logits", "float32", (2,)),)
    metadata = {
        "inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [-1, 16]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 2]}],
    }
    check_signature(inputs, outputs, metadata, "model 'm' in prod", 1)
    other = {**metadata, "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 2]}]}
    with pytest.raises(BaselineDeploymentError, match="has no tensor 'logits' \\(it serves input_ids, scores\\)"):
        check_signature(inputs, outputs, other, "model 'm' in prod", 1)
    half = {**metadata, "outputs": [{"name": "logits", "datatype": "FP16", "shape": [-1, 2]}]}
    with pytest.raises(BaselineDeploymentError, match="serves 'logits' as float16 \\[2\\], the candidate as float32"):
        check_signature(inputs, outputs, half, "model 'm' in prod", 1)
    longer = {**metadata, "inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [-1, 32]}]}
    with pytest.raises(
        BaselineDeploymentError, match="serves 'input_ids' as int64 \\[32\\], the candidate as int64 \\[16\\]"
    ):
        check_signature(inputs, outputs, longer, "model 'm' in prod", 1)
    variable = {**metadata, "inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]}]}
    check_signature(inputs, outputs, variable, "model 'm' in prod", 1)  # any length: it takes ours


def test_a_baseline_is_a_directory_or_an_address():
    with pytest.raises(ValueError, match="one of them"):
        BaselineSource()


def test_a_baseline_server_that_does_not_answer_is_named_and_asked_once(tmp_path, monkeypatch):
    import pytest_triton.session as session_module
    from pytest_triton.models.zoo import zoo_spec
    from pytest_triton.repository.deployment import Deployment
    from pytest_triton.server.endpoint import RemoteAddress, ServerEndpoint
    from pytest_triton.session import TritonSession
    from pytest_triton.settings import Settings

    monkeypatch.setattr(session_module, "BASELINE_SERVER_TIMEOUT_S", 0.5)
    source = BaselineSource(address=RemoteAddress(grpc="127.0.0.1:9"))  # the discard port: nothing answers
    session = TritonSession(Settings(perf_against=source), work_dir=tmp_path, cache_dir=tmp_path)
    session.endpoint = ServerEndpoint("local", "127.0.0.1:1", "127.0.0.1:2")  # the candidate's, never asked here
    spec = zoo_spec("resnext-small")
    candidate = Deployment("resnext-small-onnx-fp32", spec, "onnx", "fp32", "python", (), (), 8)
    with pytest.raises(BaselineDeploymentError, match="the baseline server grpc://127.0.0.1:9 did not answer") as first:
        session.against(candidate)
    assert "check its address and that it runs" in str(first.value)
    with pytest.raises(BaselineDeploymentError) as again:
        session.against(candidate)
    assert again.value is first.value  # remembered: reported once, not waited for again


def test_saving_into_a_directory_that_holds_something_else_says_so(tmp_path):
    from pytest_triton.errors import TritonPluginError

    (tmp_path / MANIFEST).write_text('{"name": "a package.json, say"}')
    with pytest.raises(
        TritonPluginError, match="already holds a manifest.json that is not a saved deployment's"
    ) as info:
        save_model(tmp_path, "m", _made(tmp_path, "m"), ENTRY)
    assert info.value.options == ("triton_save_deployment",)
    (tmp_path / "file").write_text("")
    with pytest.raises(TritonPluginError, match="the deployment cannot be saved into"):
        save_model(tmp_path / "file", "m", _made(tmp_path, "m"), ENTRY)
