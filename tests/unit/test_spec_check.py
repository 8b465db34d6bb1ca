"""models.spec_check: a team's own spec is checked before anything is exported, and each mistake is one sentence
that names the field to fix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pytest_triton.errors import SpecError
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec
from pytest_triton.models.spec_check import check_spec, checked_module
from pytest_triton.models.zoo import zoo_spec


class Scorer(torch.nn.Module):
    """Two inputs, two outputs: what the checks hold a forward to."""

    def __init__(self, returns: str = "tuple") -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 3)
        self.returns = returns

    def forward(self, features, mask):
        scores = self.layer(features) * mask
        if self.returns == "dict":
            return {"scores": scores, "best": scores.argmax(1)}
        if self.returns == "one":
            return (scores,)
        if self.returns == "float64":
            return scores.double(), scores.argmax(1)
        return scores, scores.argmax(1)


def _samples(width: int = 4, batch: int = 2, dtype: type = np.float32) -> list[SampleCase]:
    arrays = {"features": np.ones((batch, width), dtype), "mask": np.ones((batch, 1), np.float32)}
    return [SampleCase(batch, f"b{batch}", arrays)]


SPEC = ModelSpec(
    name="scorer",
    family="custom",
    build=lambda: Scorer().eval(),
    inputs=(TensorSpec("features", "float32", (4,)), TensorSpec("mask", "float32", (1,))),
    outputs=(TensorSpec("scores", "float32", (3,)), TensorSpec("best", "int64", ())),
    make_samples=_samples,
    max_batch_size=4,
)


def test_a_right_spec_passes_and_gives_its_module():
    module = checked_module(SPEC)
    assert isinstance(module, Scorer) and not module.training


@pytest.mark.parametrize("name", ["resnext-small", "bert-encoder-tiny"])
def test_the_zoos_specs_pass(name):
    spec = zoo_spec(name)
    check_spec(spec, spec.build())


MISTAKES = {
    "dict output": (
        dict(build=lambda: Scorer("dict").eval()),
        "scorer: forward returns a dict; return a tensor, or a tuple of 2 tensors in ModelSpec.outputs order "
        "(scores, best)",
    ),
    "too few outputs": (
        dict(build=lambda: Scorer("one").eval()),
        "scorer: forward returns (Tensor); return a tensor, or a tuple of 2 tensors",
    ),
    "wrong output dim": (
        dict(outputs=(TensorSpec("scores", "float32", (4,)), TensorSpec("best", "int64", ()))),
        "scorer: output 'scores' of sample case 'b2' is shaped [2, 3], but ModelSpec.outputs declares [batch 2, 4] "
        "(dims (4,)); declare dims (3,), or -1 where a dim varies",
    ),
    "wrong output dtype": (
        dict(build=lambda: Scorer("float64").eval()),
        "scorer: output 'scores' of sample case 'b2' is float64, but ModelSpec.outputs declares float32",
    ),
    "training mode": (dict(build=lambda: Scorer()), "scorer: ModelSpec.build returns a module in training mode"),
    "not a module": (dict(build=lambda: "a path"), "scorer: ModelSpec.build returns a str"),
    "build fails": (
        dict(build=lambda: torch.load("/nonexistent/weights.pt")),
        "scorer: ModelSpec.build raises FileNotFoundError",
    ),
    "forward fails": (
        dict(inputs=(TensorSpec("mask", "float32", (1,)), TensorSpec("features", "float32", (4,)))),
        "scorer: the module of ModelSpec.build fails on sample case 'b2' at test_spec_check.py:",
    ),
    "forward takes other inputs": (
        dict(
            inputs=(TensorSpec("features", "float32", (4,)),),
            make_samples=lambda: [SampleCase(2, "b2", {"features": np.ones((2, 4), np.float32)})],
        ),
        "scorer: the module of ModelSpec.build fails on sample case 'b2' (TypeError: Scorer.forward() missing 1 "
        "required positional argument: 'mask'); forward takes the inputs positionally, in ModelSpec.inputs order "
        "(features)",
    ),
    "fixed dim against other samples": (
        dict(make_samples=lambda: _samples(width=11)),
        "scorer: sample case 'b2' gives input 'features' shaped [2, 11], but ModelSpec.inputs declares "
        "[batch 2, 4] (dims (4,)); give arrays of that shape, or mark the dim -1 where it varies",
    ),
    "sample dtype": (
        dict(make_samples=lambda: _samples(dtype=np.float64)),
        "scorer: sample case 'b2' gives input 'features' as float64, but ModelSpec.inputs declares float32",
    ),
    "batch over max": (
        dict(make_samples=lambda: _samples(batch=8)),
        "scorer: sample case 'b8' has batch_size 8, outside 1 to ModelSpec.max_batch_size (4)",
    ),
    "missing input": (
        dict(make_samples=lambda: [SampleCase(2, "b2", {"features": np.ones((2, 4), np.float32)})]),
        "scorer: sample case 'b2' has inputs ['features'], but ModelSpec.inputs declares ['features', 'mask']",
    ),
    "no samples": (dict(make_samples=list), "scorer: ModelSpec.make_samples returns no sample case"),
    "unknown dtype": (
        dict(outputs=(TensorSpec("scores", "floot32", (3,)), TensorSpec("best", "int64", ()))),
        "scorer: ModelSpec.outputs 'scores' has dtype 'floot32', which numpy does not know",
    ),
    "zero dim": (
        dict(outputs=(TensorSpec("scores", "float32", (0,)), TensorSpec("best", "int64", ()))),
        "scorer: ModelSpec.outputs 'scores' has dims (0,)",
    ),
    "repeated name": (
        dict(outputs=(TensorSpec("features", "float32", (3,)), TensorSpec("best", "int64", ()))),
        "scorer: the tensor name 'features' is declared twice",
    ),
    "negative max_batch_size": (dict(max_batch_size=-1), "scorer: ModelSpec.max_batch_size is -1"),
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=list(MISTAKES))
def test_each_mistake_is_one_sentence_naming_the_field(mistake):
    changes, expected = MISTAKES[mistake]
    with pytest.raises(SpecError) as info:
        checked_module(dataclasses.replace(SPEC, **changes))
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message and len(message) < 300


def test_a_model_without_batching_has_no_batch_dimension():
    spec = dataclasses.replace(
        SPEC,
        inputs=(TensorSpec("features", "float32", (2, 4)), TensorSpec("mask", "float32", (2, 1))),
        outputs=(TensorSpec("scores", "float32", (2, 3)), TensorSpec("best", "int64", (2,))),
        max_batch_size=0,
    )
    check_spec(spec, spec.build())
    wrong = dataclasses.replace(spec, outputs=(TensorSpec("scores", "float32", (3,)), spec.outputs[1]))
    with pytest.raises(SpecError, match=r"declares \[3\] \(dims \(3,\), max_batch_size 0: no batch dimension\)"):
        check_spec(wrong, wrong.build())
