"""The built-in models by name, and the defaults for a CPU-only machine."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from pytest_triton.models.bert import SIZES, bert_spec
from pytest_triton.models.resnext import VARIANTS, resnext_spec
from pytest_triton.models.spec import ModelSpec

# name -> factory(checkpoint) for every model the zoo knows.
ZOO: dict[str, Callable[[Path | None], ModelSpec]] = {
    **{f"bert-{size}": partial(bert_spec, size) for size in SIZES},
    **{variant: partial(resnext_spec, variant) for variant in VARIANTS},
}
DEFAULT_MODELS = ("bert-tiny", "resnext-small")
