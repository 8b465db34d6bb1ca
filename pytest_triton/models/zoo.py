"""The built-in models by name, and the defaults for a CPU-only machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from pytest_triton.models.bert import SIZES, bert_spec
from pytest_triton.models.resnext import VARIANTS, resnext_spec
from pytest_triton.models.spec import ModelSpec

DEFAULT_MODELS = ("bert-tiny", "resnext-small")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pytest-triton"


def _bert(size: str) -> Callable[[Path | None, Path], ModelSpec]:
    def factory(checkpoint: Path | None, cache_dir: Path) -> ModelSpec:
        if size != "tiny":
            return bert_spec(size, checkpoint)
        # The default BERT is a tiny QA model trained here at first use, so accuracy checks mean something.
        from pytest_triton.squad.tiny_model import tiny_qa_model_dir

        return bert_spec(size, checkpoint, trained=lambda: tiny_qa_model_dir(cache_dir / "models"))

    return factory


def _resnext(variant: str) -> Callable[[Path | None, Path], ModelSpec]:
    return lambda checkpoint, cache_dir: resnext_spec(variant, checkpoint)


# name -> factory(checkpoint, cache_dir) for every model the zoo knows.
ZOO: dict[str, Callable[[Path | None, Path], ModelSpec]] = {
    **{f"bert-{size}": _bert(size) for size in SIZES},
    **{variant: _resnext(variant) for variant in VARIANTS},
}


def zoo_spec(name: str, checkpoint: Path | None = None, cache_dir: Path = DEFAULT_CACHE) -> ModelSpec:
    """The zoo's spec for `name`; trained weights (bert-tiny) are cached under `cache_dir`."""
    return ZOO[name](checkpoint, cache_dir)
