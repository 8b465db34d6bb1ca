"""The built-in models by name, and the defaults for a CPU-only machine."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pytest_triton.errors import TritonPluginError
from pytest_triton.models.spec import ModelSpec

DEFAULT_MODELS = ("bert-tiny", "resnext-small")
# The GPU's models (BERT base and large, ResNeXt101) take batches of 32, as their perf tables measure them; the tiny
# CPU models 8.
TINY_MAX_BATCH, GPU_MAX_BATCH = 8, 32
# The tiny models' weights, as their recipes (squad/tiny_model.py, images/tiny_model.py) trained them once, shipped in
# the package: training is deterministic on one CPU but not across CPUs, and every machine must check the same
# models against the same accuracy baselines.
WEIGHTS = Path(__file__).parent / "weights"
TINY_QA_MODEL = WEIGHTS / "bert-tiny-squad"
TINY_CLASSIFIER = WEIGHTS / "resnext-small-synthetic" / "model.pt"


def _shipped(path: Path, model: str, recipe: str, given_as: str) -> Path:
    """`path` of the installed package; a clear error where the install lacks it."""
    if not path.is_file():
        raise TritonPluginError(
            f"{model}'s weights are missing from the installed package ({path}); reinstall pytest-triton, or train "
            f"them with `python -m {recipe}` and give {model}'s checkpoint as {model}={given_as}",
            options=("triton_checkpoint",),
        )
    return path


def shipped_tiny_qa_model() -> Path:
    """The shipped tiny QA model directory (Hugging Face layout)."""
    _shipped(TINY_QA_MODEL / "model.safetensors", "bert-tiny", "pytest_triton.squad.tiny_model", "DIR")
    return TINY_QA_MODEL


def shipped_tiny_classifier() -> Path:
    """The shipped tiny image classifier's state dict."""
    return _shipped(TINY_CLASSIFIER, "resnext-small", "pytest_triton.images.tiny_model", "DIR/model.pt")


def _bert(size: str) -> Callable[[Path | None], ModelSpec]:
    def factory(checkpoint: Path | None) -> ModelSpec:
        from pytest_triton.models.bert import bert_spec

        # The default BERT is the tiny QA model trained on synthetic SQuAD, so accuracy checks mean something.
        if size == "tiny":
            return bert_spec(size, checkpoint, TINY_MAX_BATCH, trained=shipped_tiny_qa_model)
        return bert_spec(size, checkpoint, GPU_MAX_BATCH)

    return factory


def _resnext(variant: str) -> Callable[[Path | None], ModelSpec]:
    def factory(checkpoint: Path | None) -> ModelSpec:
        from pytest_triton.models.resnext import resnext_spec

        # The CPU default is the tiny classifier trained on the synthetic image task, so top-1 means something.
        if variant == "resnext-small":
            return resnext_spec(variant, checkpoint, TINY_MAX_BATCH, trained=shipped_tiny_classifier)
        return resnext_spec(variant, checkpoint, GPU_MAX_BATCH)

    return factory


def _ft_encoder(size: str) -> Callable[[Path | None], ModelSpec]:
    def factory(checkpoint: Path | None) -> ModelSpec:
        from pytest_triton.models.ft_encoder import ft_encoder_spec

        # Random weights from a fixed seed, or a Hugging Face BERT checkpoint's encoder (of the checkpoint's sizes).
        return ft_encoder_spec(size, checkpoint)

    return factory


# name -> factory(checkpoint) for every model the zoo knows. The model modules import torch, so they are imported
# when a spec is made, not when the plugin validates --triton-models against these names.
ZOO: dict[str, Callable[[Path | None], ModelSpec]] = {
    **{f"bert-{size}": _bert(size) for size in ("tiny", "base", "large")},
    **{variant: _resnext(variant) for variant in ("resnext101-32x4d", "resnext-small")},
    **{f"bert-encoder-{size}": _ft_encoder(size) for size in ("tiny", "base")},
}


def zoo_spec(name: str, checkpoint: Path | None = None) -> ModelSpec:
    """The zoo's spec for `name`, with a checkpoint's weights where given."""
    return ZOO[name](checkpoint)
