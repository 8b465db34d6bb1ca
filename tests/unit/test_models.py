"""models: the zoo's specs (I/O, seeded samples, eager modules) and loading real weights from checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pytest_triton.errors import TritonPluginError
from pytest_triton.models.bert import SIZES, VOCAB_SIZE, bert_spec
from pytest_triton.models.checkpoint import load_state_dict
from pytest_triton.models.resnext import VARIANTS, resnext_spec
from pytest_triton.models.spec import ModelSpec, TensorSpec
from pytest_triton.models.zoo import DEFAULT_MODELS, ZOO, zoo_spec


@pytest.fixture(scope="module")
def resnext_small() -> torch.nn.Module:
    return zoo_spec("resnext-small").build()


def assert_same_cases(a, b):
    assert [(c.batch_size, c.label) for c in a] == [(c.batch_size, c.label) for c in b]
    for x, y in zip(a, b):
        assert x.inputs.keys() == y.inputs.keys()
        for name in x.inputs:
            assert x.inputs[name].dtype == y.inputs[name].dtype
            np.testing.assert_array_equal(x.inputs[name], y.inputs[name])


# -- zoo and TensorSpec -------------------------------------------------------------------------


def test_zoo_names_and_defaults():
    assert set(ZOO) == {
        *("bert-tiny", "bert-base", "bert-large", "resnext101-32x4d", "resnext-small"),
        *("bert-encoder-tiny", "bert-encoder-base"),
    }
    # The zoo names its models without importing them; every name is one the model modules define.
    encoders = {f"bert-encoder-{size}" for size in ("tiny", "base")}
    assert set(ZOO) == {f"bert-{size}" for size in SIZES} | set(VARIANTS) | encoders
    assert set(DEFAULT_MODELS) <= set(ZOO)
    for name in ZOO:
        spec = zoo_spec(name)
        assert isinstance(spec, ModelSpec)
        assert spec.name == name
        assert spec.description


def test_tensor_spec_at_precision():
    image = TensorSpec("input", "float32", (3, 8, 8))
    ids = TensorSpec("input_ids", "int64", (-1,))
    assert image.at_precision("fp16") == TensorSpec("input", "float16", (3, 8, 8))
    assert image.at_precision("fp32") is image
    assert ids.at_precision("fp16") is ids  # integers keep their type
    assert image.is_float and not ids.is_float


# -- BERT ---------------------------------------------------------------------------------------


def test_bert_io_names():
    spec = zoo_spec("bert-tiny")
    assert spec.input_names() == ["input_ids", "token_type_ids", "attention_mask"]
    assert spec.output_names() == ["start_logits", "end_logits"]
    assert all(t.dtype == "int64" and t.dims == (-1,) for t in spec.inputs)
    assert all(t.dtype == "float32" and t.dims == (-1,) for t in spec.outputs)
    assert spec.family == "bert"
    assert "ts-script" in spec.unsupported_formats


def test_bert_samples_are_deterministic_across_calls_and_specs():
    spec = zoo_spec("bert-tiny")
    assert_same_cases(spec.make_samples(), spec.make_samples())
    assert_same_cases(spec.make_samples(), zoo_spec("bert-tiny").make_samples())


def test_bert_samples_cover_several_sequence_lengths_and_a_padded_batch():
    spec = zoo_spec("bert-tiny")
    cases = spec.make_samples()
    lengths = {c.inputs["input_ids"].shape[1] for c in cases}
    assert lengths == set(SIZES["tiny"].sequence_lengths)
    assert len(lengths) >= 3
    padded = [c for c in cases if c.label.endswith("-padded")]
    assert len(padded) == 1
    (case,) = padded
    assert case.batch_size == spec.max_batch_size
    mask = case.inputs["attention_mask"]
    real = mask.sum(axis=1)
    assert (real < mask.shape[1]).all(), "every row of the padded case is padded"
    assert len(set(real.tolist())) > 1, "rows of different real lengths"
    for row, length in enumerate(real):
        assert mask[row, :length].all() and not mask[row, length:].any()  # one run of ones, then zeros
        assert not case.inputs["input_ids"][row, length:].any()
        assert not case.inputs["token_type_ids"][row, length:].any()
    # Parity compares the logits of real tokens only.
    assert all((case.compared[output] == mask.astype(bool)).all() for output in spec.output_names())
    assert any(c.inputs["attention_mask"].all() for c in cases), "unpadded cases too"


def test_bert_sample_contents():
    spec = bert_spec("tiny")  # random weights over the standard vocabulary, where [CLS] is 101
    for case in spec.make_samples():
        assert set(case.inputs) == set(spec.input_names())
        ids = case.inputs["input_ids"]
        assert ids.shape[0] == case.batch_size
        assert all(a.dtype == np.int64 and a.shape == ids.shape for a in case.inputs.values())
        assert (ids[:, 0] == 101).all()  # [CLS]
        assert ids.max() < VOCAB_SIZE and ids.min() >= 0
        assert set(np.unique(case.inputs["token_type_ids"])) <= {0, 1}
        assert case.label.startswith(f"b{case.batch_size}-s{ids.shape[1]}")


def test_bert_samples_respect_max_batch_size():
    cases = bert_spec("tiny", max_batch_size=2).make_samples()
    assert max(c.batch_size for c in cases) == 2
    assert all(c.inputs["input_ids"].shape[0] == c.batch_size for c in cases)


def test_bert_tiny_eager_module_returns_outputs_in_spec_order():
    spec = zoo_spec("bert-tiny")
    module = spec.build()
    assert not module.training
    case = spec.make_samples()[0]
    with torch.no_grad():
        outputs = module(*(torch.from_numpy(case.inputs[n]) for n in spec.input_names()))
    assert isinstance(outputs, tuple) and len(outputs) == len(spec.outputs)
    for out in outputs:
        assert out.shape == case.inputs["input_ids"].shape
        assert out.dtype == torch.float32
        assert torch.isfinite(out).all()


# -- ResNeXt ------------------------------------------------------------------------------------


def test_resnext_io_and_samples():
    spec = zoo_spec("resnext-small")
    assert spec.input_names() == ["input"] and spec.output_names() == ["logits"]
    assert spec.inputs[0].dims == (3, 32, 32)
    assert spec.outputs[0].dims == (16,)  # the synthetic image task's classes
    cases = spec.make_samples()
    assert [c.batch_size for c in cases] == [1, 4, 8]
    for case in cases:
        assert case.inputs["input"].shape == (case.batch_size, 3, 32, 32)
        assert case.inputs["input"].dtype == np.float32
    assert_same_cases(cases, spec.make_samples())
    assert_same_cases(cases, resnext_spec("resnext-small").make_samples())


def test_resnext_batch_sizes_deduplicated_for_small_max_batch():
    assert [c.batch_size for c in resnext_spec("resnext-small", max_batch_size=1).make_samples()] == [1]


def test_resnext_builds_are_identical(resnext_small):
    again = zoo_spec("resnext-small").build()
    first, second = resnext_small.state_dict(), again.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_random_resnext_logits_are_in_fp16_range():
    """BatchNorm calibration keeps random-weight logits small enough for fp16 parity to mean something."""
    spec = resnext_spec("resnext-small", max_batch_size=1)  # no checkpoint, nothing trained: random weights
    with torch.no_grad():
        logits = spec.build()(torch.from_numpy(spec.make_samples()[0].inputs["input"]))
    assert logits.shape == (1, VARIANTS["resnext-small"].num_classes)
    assert torch.isfinite(logits).all()
    assert logits.abs().max() < 1000


# -- checkpoints --------------------------------------------------------------------------------


def perturbed_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    state = {k: v.clone() for k, v in module.state_dict().items()}
    state["fc.bias"] += 0.5
    state["conv1.weight"] *= 1.5
    return state


@pytest.mark.parametrize("wrap", ["plain", "model-key", "module-prefix"])
def test_checkpoint_round_trip(resnext_small, tmp_path, wrap):
    state = perturbed_state(resnext_small)
    saved = {
        "plain": state,
        "model-key": {"model": state, "epoch": 3},
        "module-prefix": {f"module.{k}": v for k, v in state.items()},  # as DataParallel saves it
    }[wrap]
    path = tmp_path / "weights.pt"
    torch.save(saved, path)
    loaded = zoo_spec("resnext-small", path).build().state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    # BatchNorm statistics come from the checkpoint, not from a recalibration.
    assert torch.equal(loaded["bn1.running_mean"], state["bn1.running_mean"])


def test_checkpoint_with_wrong_keys_names_them(resnext_small, tmp_path):
    state = dict(resnext_small.state_dict())
    del state["fc.weight"]
    state["classifier.weight"] = torch.zeros(3)
    path = tmp_path / "wrong.pt"
    torch.save(state, path)
    with pytest.raises(TritonPluginError) as info:
        zoo_spec("resnext-small", path).build()
    message = str(info.value)
    assert "resnext-small" in message and str(path) in message
    assert "missing ['fc.weight']" in message
    assert "unexpected ['classifier.weight']" in message
    assert "1 missing, 1 unexpected" in message


def test_checkpoint_of_another_model_lists_at_most_five_keys_of_each(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({f"layer{i}.weight": torch.zeros(1) for i in range(8)}, path)
    module = torch.nn.Sequential(*(torch.nn.Linear(1, 1) for _ in range(4)))
    with pytest.raises(TritonPluginError) as info:
        load_state_dict(path, module, "mine")
    message = str(info.value)
    assert "(8 missing, 8 unexpected keys in all)" in message
    assert message.count("layer") == 5


def test_checkpoint_with_wrong_shapes_gives_a_plugin_error(resnext_small, tmp_path):
    state = dict(resnext_small.state_dict())
    state["fc.weight"], state["fc.bias"] = torch.zeros(10, 2048), torch.zeros(10)
    path = tmp_path / "ten-classes.pt"
    torch.save(state, path)
    with pytest.raises(TritonPluginError):
        zoo_spec("resnext-small", path).build()


def test_checkpoint_that_is_not_a_torch_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are not weights")
    with pytest.raises(TritonPluginError) as info:
        zoo_spec("resnext-small", path).build()
    message = str(info.value)
    assert "cannot read" in message and str(path) in message
    assert "torch.save(model.state_dict())" in message


def test_checkpoint_of_a_pickled_module_is_refused(tmp_path):
    """A whole pickled module needs weights_only=False to load, which the loader never uses."""
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(TritonPluginError, match="cannot read"):
        load_state_dict(path, torch.nn.Linear(2, 2), "linear")


def test_checkpoint_that_is_not_a_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(TritonPluginError) as info:
        load_state_dict(path, torch.nn.Linear(2, 2), "linear")
    assert "expected a state dict, found list" in str(info.value)


def test_bert_checkpoint_state_dict(tmp_path):
    # A state dict must fit the zoo's architecture of that size (the random-weight BERT, full vocabulary).
    spec = bert_spec("tiny")
    state = {k: v.clone() for k, v in spec.build().state_dict().items()}
    # The wrapper module's keys carry a "model." prefix: exactly what the loader expects for BertQA.model.
    inner = {k.removeprefix("model."): v for k, v in state.items()}
    key = "qa_outputs.bias"
    inner[key] = inner[key] + 1.0
    path = tmp_path / "bert.pt"
    torch.save(inner, path)
    loaded = zoo_spec("bert-tiny", path).build().state_dict()
    assert torch.equal(loaded[f"model.{key}"], inner[key])


def test_a_rotated_case_takes_rows_from_a_start_wrapping_around():
    import numpy as np

    from pytest_triton.models.spec import SampleCase

    case = SampleCase(3, "b3", {"x": np.arange(3)[:, None]}, {"y": np.array([[True], [False], [True]])})
    rotated = case.rotated(2, 4)
    assert rotated.inputs["x"].ravel().tolist() == [2, 0, 1, 2] and rotated.batch_size == 4
    assert rotated.compared["y"].ravel().tolist() == [True, True, False, True] and rotated.label == "b3-r2"
