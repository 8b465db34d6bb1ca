"""variants: which model x format x precision combinations a run checks."""

from __future__ import annotations

import pytest

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import DEFAULT_PRECISIONS, FORMATS
from pytest_triton.models.spec import ModelSpec, TensorSpec
from pytest_triton.models.variant import Variant
from pytest_triton.models.zoo import DEFAULT_MODELS, zoo_spec
from pytest_triton.server.endpoint import RemoteAddress
from pytest_triton.settings import Settings
from pytest_triton.variants import select_specs, select_variants


def user_spec(name: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="user",
        build=lambda: None,
        inputs=(TensorSpec("x", "float32", (2,)),),
        outputs=(TensorSpec("y", "float32", (2,)),),
        make_samples=list,
    )


def test_default_specs_are_the_zoo_defaults_then_user_specs():
    mine = user_spec("mine")
    specs = select_specs(Settings(), [mine])
    assert [s.name for s in specs] == [*DEFAULT_MODELS, "mine"]
    assert specs[-1] is mine


def test_models_option_picks_by_name_in_its_order():
    mine = user_spec("mine")
    specs = select_specs(Settings(models=("mine", "resnext-small")), [mine])
    assert [s.name for s in specs] == ["mine", "resnext-small"]
    assert specs[0] is mine


def test_a_user_spec_shadows_a_zoo_model_of_the_same_name():
    own = user_spec("bert-tiny")
    (spec,) = select_specs(Settings(models=("bert-tiny",)), [own])
    assert spec is own


def test_checkpoint_reaches_the_zoo_factory(tmp_path):
    """The factory gets the checkpoint; nothing is built or loaded at selection time."""
    weights = tmp_path / "missing-but-unread.pt"
    (spec,) = select_specs(Settings(models=("resnext-small",), checkpoints={"resnext-small": weights}), [])
    assert spec.name == "resnext-small"


def test_local_variants_are_the_full_product_in_order():
    specs = [zoo_spec("bert-tiny"), zoo_spec("resnext-small")]
    variants = select_variants(Settings(formats=FORMATS), specs)
    assert len(variants) == len(specs) * len(FORMATS) * len(DEFAULT_PRECISIONS)
    assert [v.id for v in select_variants(Settings(), specs)][:2] == ["bert-tiny-onnx-fp32", "bert-tiny-onnx-fp16"]
    assert [v.id for v in variants[:3]] == [
        "bert-tiny-ts-script-fp32",
        "bert-tiny-ts-script-fp16",
        "bert-tiny-ts-trace-fp32",
    ]
    assert len({v.id for v in variants}) == len(variants)


def test_formats_and_precisions_narrow_the_product():
    spec = zoo_spec("resnext-small")
    variants = select_variants(Settings(formats=("onnx",), precisions=("fp16", "fp32")), [spec])
    assert [v.id for v in variants] == ["resnext-small-onnx-fp16", "resnext-small-onnx-fp32"]
    assert variants[0] == Variant(spec, "onnx", "fp16")


def test_remote_variants_are_one_served_variant_per_model_at_the_first_precision():
    specs = [zoo_spec("bert-tiny"), zoo_spec("resnext-small")]
    settings = Settings(launch_mode="remote", remotes=(RemoteAddress(grpc="h:8001"),), precisions=("fp16", "fp32"))
    assert [v.id for v in select_variants(settings, specs)] == ["bert-tiny-served-fp16", "resnext-small-served-fp16"]


def test_a_checkpoint_for_a_model_the_served_run_does_not_check_is_refused(tmp_path):
    """In remote mode a checkpoint may name a model only the server knows; once the names are known, a typo shows."""
    settings = Settings(
        launch_mode="remote",
        remotes=(RemoteAddress(grpc="h:8001"),),
        models=("fastertransformer",),
        checkpoints={"fastertrasformer": tmp_path},
    )
    with pytest.raises(TritonPluginError, match="'fastertrasformer', which this run does not check"):
        select_specs(settings, [])
