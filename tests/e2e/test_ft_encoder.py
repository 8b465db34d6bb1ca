"""FasterTransformer's BERT encoder contract, served by the bundled server on this CPU: parity with transformers'
encoder layers over rows of varied lengths, positions past a row's length left out."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from transformers import BertConfig, BertModel
from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.models.encoder_contract import FT_BACKEND
from pytest_triton.models.ft_encoder import ft_encoder_spec
from pytest_triton.models.zoo import TINY_QA_MODEL
from pytest_triton.repository.config import to_pbtxt
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings

HERE = Path(__file__).parent
# Servers this module starts search the ports of this xdist worker, as the suites' servers do.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


@pytest.mark.parametrize("suite_files", [("test_parity.py", "test_consistency.py")])
def test_the_encoder_contract_matches_the_encoder_layers_in_fp32_and_fp16(suites, pytester):
    result = suites(
        "--triton-models=bert-encoder-tiny", "--triton-formats=onnx", "--triton-precisions=fp32,fp16",
        "--junitxml=junit.xml",
    )  # fmt: skip
    result.assert_outcomes(passed=6)  # parity, and the two consistency checks, per precision
    parity = {
        case.get("name"): {p.get("name"): float(p.get("value")) for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
        if case.get("name", "").startswith("test_outputs_match_reference")
    }
    fp32 = parity["test_outputs_match_reference[bert-encoder-tiny-onnx-fp32]"]
    fp16 = parity["test_outputs_match_reference[bert-encoder-tiny-onnx-fp16]"]
    # The FasterTransformer identity test's figures, per sample case: abs max diff and abs mean diff.
    assert "b4-s128-lengths.output_hidden_state.max_abs_diff" in fp32
    assert max(v for k, v in fp32.items() if k.endswith("max_abs_diff")) < 1e-4
    assert 0 < max(v for k, v in fp16.items() if k.endswith("mean_abs_diff")) < 1e-2


def _parity_properties(pytester) -> dict[str, dict[str, str]]:
    return {
        case.get("name", ""): {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
        if case.get("name", "").startswith("test_outputs_match_reference")
    }


@pytest.mark.parametrize("suite_files", [("test_parity.py",)])
def test_the_encoder_takes_a_bert_checkpoint_and_reports_execution_time_beside_the_reference(suites, pytester):
    result = suites(
        "--triton-models=bert-encoder-tiny", "--triton-formats=onnx", "--triton-precisions=fp32",
        f"--triton-checkpoint=bert-encoder-tiny={TINY_QA_MODEL}", "--junitxml=junit.xml",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    (properties,) = _parity_properties(pytester).values()
    # The checkpoint's sizes (2 layers of 64), not the random tiny encoder's (128): its rows are 64 wide.
    assert float(properties["b8-s128-lengths.output_hidden_state.max_abs_diff"]) < 1e-4
    for case in ("b1-s16-lengths", "b4-s128-lengths", "b8-s128-lengths"):
        assert float(properties[f"{case}.served_ms"]) > 0 and float(properties[f"{case}.reference_ms"]) > 0


# The parameters the issue asks to see reported: how a FasterTransformer deployment runs.
FT_REPORTED = ("tensor_para_size", "pipeline_para_size", "data_type", "is_remove_padding")
# The parameters of FasterTransformer's own all_models/bert config, on one GPU: what says how it runs.
FT_CONFIG_PARAMETERS = {
    "tensor_para_size": "1", "pipeline_para_size": "1", "data_type": "fp16", "enable_custom_all_reduce": "0",
    "model_type": "bert", "int8_mode": "0", "is_sparse": "0", "is_remove_padding": "1",
}  # fmt: skip


def _place_bf16_stand_in(directory: Path, fp16: mc.ModelConfig) -> None:
    """The same deployment at data_type bf16: BF16 tensors, served by a stand-in that computes the checkpoint's
    encoder in bfloat16 (ft_bf16/model.py), reading the checkpoint from model_checkpoint_path as FasterTransformer
    does."""
    config = mc.ModelConfig()
    config.CopyFrom(fp16)
    config.name = directory.name
    del config.parameters["format"], config.parameters["artifact"]  # the python runner's, not the stand-in's
    config.parameters["data_type"].string_value = "bf16"
    config.parameters["model_checkpoint_path"].string_value = str(TINY_QA_MODEL)
    for tensor in (*config.input, *config.output):
        if tensor.name != FT_BACKEND.lengths:
            tensor.data_type = mc.TYPE_BF16
    (directory / "1").mkdir(parents=True)
    shutil.copy(HERE / "ft_bf16" / "model.py", directory / "1" / "model.py")
    (directory / "config.pbtxt").write_text(to_pbtxt(config))


@pytest.fixture(scope="module")
def ft_server(tmp_path_factory: pytest.TempPathFactory):
    """A server someone else runs, serving the tiny QA model's encoder as FasterTransformer's BERT deployment shows
    it: named fastertransformer, FP16 tensors under FasterTransformer's names (sequence_lengths), max_batch_size 1024
    and its config parameters. The FasterTransformer backend itself needs a GPU build; this CPU runs the export."""
    work = tmp_path_factory.mktemp("ft")
    session = TritonSession(Settings(), work_dir=work, cache_dir=work / "exports", worker_index=WORKER)
    session.start()
    try:
        spec = ft_encoder_spec(None, TINY_QA_MODEL, name="fastertransformer", names=FT_BACKEND)
        exported = session.deployment(spec, "onnx", "fp16")
        assert exported.config is not None and session.server is not None and session.server.repository is not None
        config = mc.ModelConfig()
        config.CopyFrom(exported.config)
        config.name, config.max_batch_size = "fastertransformer", 1024
        for tensor in (*config.input, *config.output):  # FasterTransformer declares no hidden size
            if tensor.name != FT_BACKEND.lengths:
                tensor.dims[:] = [-1, -1]
        for key, value in FT_CONFIG_PARAMETERS.items():
            config.parameters[key].string_value = value
        repository = session.server.repository
        shutil.copytree(repository / exported.model_name, repository / "fastertransformer")
        (repository / "fastertransformer" / "config.pbtxt").write_text(to_pbtxt(config))
        session.client.load_model("fastertransformer")
        _place_bf16_stand_in(repository / "fastertransformer_bf16", config)
        session.client.load_model("fastertransformer_bf16")
        yield session.endpoint
    finally:
        session.close()


@pytest.mark.parametrize("suite_files", [("test_parity.py", "test_conformance.py")])
def test_a_fastertransformer_deployment_is_held_to_its_checkpoint_with_its_own_names_and_parameters(
    suites, pytester, ft_server
):
    result = suites(
        f"--triton-url={ft_server.grpc_url}", "--triton-models=fastertransformer",
        f"--triton-checkpoint=fastertransformer={TINY_QA_MODEL}", "--junitxml=junit.xml", "-rs",
    )  # fmt: skip
    result.assert_outcomes(passed=11, skipped=1)
    (properties,) = _parity_properties(pytester).values()
    # Read from the server and reported; data_type says which precision's tolerance holds it.
    assert {k: properties[f"config.{k}"] for k in FT_REPORTED} == {
        "tensor_para_size": "1", "pipeline_para_size": "1", "data_type": "fp16", "is_remove_padding": "1",
    }  # fmt: skip
    worst = max(float(v) for k, v in properties.items() if k.endswith("max_abs_diff"))
    assert 1e-4 < worst < 5e-2  # fp16 arithmetic, within fp16's tolerance
    assert float(properties["b8-s128-lengths.served_ms"]) > 0


@pytest.mark.parametrize("suite_files", [("test_parity.py", "test_consistency.py")])
def test_a_fastertransformer_deployment_at_bf16_sends_and_reads_bf16_tensors(suites, pytester, ft_server):
    result = suites(
        f"--triton-url={ft_server.grpc_url}", "--triton-models=fastertransformer_bf16",
        f"--triton-checkpoint=fastertransformer_bf16={TINY_QA_MODEL}", "--junitxml=junit.xml",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    (properties,) = _parity_properties(pytester).values()
    assert properties["config.data_type"] == properties["precision"] == "bf16"
    worst = max(float(v) for k, v in properties.items() if k.endswith("max_abs_diff"))
    assert 5e-3 < worst < 0.15  # bfloat16 arithmetic, within bf16's tolerance


@pytest.mark.parametrize("suite_files", [("test_parity.py",)])
def test_a_fastertransformer_deployment_without_its_checkpoint_says_what_to_give(suites, ft_server):
    result = suites(f"--triton-url={ft_server.grpc_url}", "--triton-models=fastertransformer", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*'fastertransformer' serves FasterTransformer's BERT encoder contract: give the Hugging Face BERT "
         "checkpoint its weights were converted from*(--triton-checkpoint)*"]
    )  # fmt: skip


@pytest.mark.parametrize("suite_files", [("test_parity.py",)])
def test_a_checkpoint_of_another_hidden_size_is_a_clear_failure(suites, pytester, ft_server):
    other = pytester.path / "bert-32"
    BertModel(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    ).save_pretrained(other)
    result = suites(
        f"--triton-url={ft_server.grpc_url}", "--triton-models=fastertransformer",
        f"--triton-checkpoint=fastertransformer={other}",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    # FasterTransformer declares no hidden size (dims [-1, -1]), so the server is the one to refuse it.
    result.stdout.fnmatch_lines(
        ["*model 'fastertransformer' refused sample case b1-s32-lengths (input_hidden_state float16[[]1, 32, 32[]], "
         "sequence_lengths int32[[]1, 1[]]): *input_hidden_state*"]
    )  # fmt: skip
    assert "Traceback" not in result.stdout.str()
