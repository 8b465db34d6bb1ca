"""FasterTransformer's BERT encoder contract as a server shows it: recognised by its names, held to a Hugging Face
checkpoint, and each bad checkpoint refused with a message that says what to give."""

from __future__ import annotations

import json

import pytest

from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.models.encoder_contract import CONTRACT, FT_BACKEND, served_hidden_size, served_names
from pytest_triton.models.served import spec_from_server
from pytest_triton.models.zoo import TINY_QA_MODEL, zoo_spec


def metadata(lengths: str = "sequence_lengths", hidden: int = -1) -> dict:
    """A model's metadata as the server gives it for FasterTransformer's all_models/bert deployment."""
    return {
        "inputs": [
            {"name": "input_hidden_state", "datatype": "FP16", "shape": [-1, -1, hidden]},
            {"name": lengths, "datatype": "INT32", "shape": [-1, 1]},
        ],
        "outputs": [{"name": "output_hidden_state", "datatype": "FP16", "shape": [-1, -1, hidden]}],
    }


def test_the_contract_is_recognised_under_either_name_for_the_lengths_and_nothing_else_is():
    assert served_names(metadata("sequence_lengths")) == FT_BACKEND
    assert served_names(metadata("sequence_length")) == CONTRACT
    assert served_names(metadata("lengths")) is None
    extra = metadata()
    extra["inputs"].append({"name": "attention_mask", "datatype": "INT32", "shape": [-1, -1]})
    assert served_names(extra) is None
    assert served_hidden_size(metadata(hidden=768), FT_BACKEND) == 768
    assert served_hidden_size(metadata(), FT_BACKEND) is None


def test_a_served_encoder_with_its_checkpoint_takes_the_served_names_and_dims_and_the_checkpoints_sizes():
    spec = spec_from_server("fastertransformer", metadata(), 1024, checkpoint=TINY_QA_MODEL)
    assert [(t.name, t.dims) for t in spec.inputs] == [("input_hidden_state", (-1, -1)), ("sequence_lengths", (1,))]
    assert spec.max_batch_size == 1024 and spec.build is not None
    cases = spec.make_samples()
    # The shipped QA model is 64 wide; the samples stay small whatever the deployment's max_batch_size.
    assert {c.inputs["input_hidden_state"].shape[-1] for c in cases} == {64}
    assert max(c.batch_size for c in cases) == 8


def test_a_served_encoder_declaring_another_hidden_size_than_its_checkpoint_is_refused():
    with pytest.raises(TritonPluginError, match=r"takes hidden states of size 768, and its checkpoint .* has hidden"):
        spec_from_server("fastertransformer", metadata(hidden=768), 8, checkpoint=TINY_QA_MODEL)


def test_a_served_encoder_without_a_checkpoint_is_not_sent_made_up_samples_and_says_what_to_give():
    with pytest.raises(Unsupported, match="give the Hugging Face BERT checkpoint") as reason:
        spec_from_server("fastertransformer", metadata(), 8)
    assert reason.value.options == ("triton_checkpoint",)


@pytest.mark.parametrize("max_batch_size", [1, 3])
def test_a_served_encoder_of_a_small_max_batch_size_gets_each_case_once(max_batch_size):
    spec = spec_from_server("fastertransformer", metadata(), max_batch_size, checkpoint=TINY_QA_MODEL)
    labels = [case.label for case in spec.make_samples()]
    assert len(labels) == len(set(labels)) and max(c.batch_size for c in spec.make_samples()) == max_batch_size


def test_a_served_encoder_that_does_not_batch_is_unsupported():
    with pytest.raises(Unsupported, match="without batching"):
        spec_from_server("fastertransformer", metadata(), 0, checkpoint=TINY_QA_MODEL)


def test_a_checkpoint_for_a_served_model_of_another_signature_is_refused():
    other = {"inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}], "outputs": metadata()["outputs"]}
    with pytest.raises(TritonPluginError, match="its signature is not one a checkpoint builds a reference for"):
        spec_from_server("scale", other, 8, checkpoint=TINY_QA_MODEL)


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (None, "No such file"),
        ('{"model_type": "roberta"}', "its config.json says model_type 'roberta'"),
        ("{oops", "Expecting property name"),
    ],
)
def test_a_directory_that_is_not_a_bert_checkpoint_is_refused_before_anything_loads(tmp_path, config, reason):
    if config is not None:
        (tmp_path / "config.json").write_text(config)
    with pytest.raises(TritonPluginError, match=f"is not a Hugging Face BERT directory .*{reason}"):
        zoo_spec("bert-encoder-tiny", tmp_path)


def test_the_zoo_encoder_takes_a_checkpoints_sizes_and_weights():
    spec = zoo_spec("bert-encoder-tiny", TINY_QA_MODEL)
    hidden = json.loads((TINY_QA_MODEL / "config.json").read_text())["hidden_size"]
    assert spec.inputs[0].dims == (-1, hidden) and "bert-tiny-squad" in spec.description
