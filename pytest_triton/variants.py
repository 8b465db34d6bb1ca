"""Which model x format x precision combinations a run checks."""

from __future__ import annotations

from pytest_triton.kinds import SERVED
from pytest_triton.models.spec import ModelSpec
from pytest_triton.models.variant import Variant
from pytest_triton.models.zoo import DEFAULT_MODELS, zoo_spec
from pytest_triton.settings import Settings


def select_specs(settings: Settings, user_specs: list[ModelSpec]) -> list[ModelSpec]:
    """--triton-models picks by name among zoo and user specs; without it: the defaults plus the user's."""
    by_name = {spec.name: spec for spec in user_specs}
    names = settings.models or (*DEFAULT_MODELS, *by_name)
    return [by_name[n] if n in by_name else zoo_spec(n, settings.checkpoints.get(n)) for n in dict.fromkeys(names)]


def select_variants(settings: Settings, specs: list[ModelSpec]) -> list[Variant]:
    if settings.launch_mode == "remote":
        # A served model has one format and precision, whatever it is; the first precision sets the tolerance.
        return [Variant(spec, SERVED, settings.precisions[0]) for spec in specs]
    return [
        Variant(spec, fmt, precision) for spec in specs for fmt in settings.formats for precision in settings.precisions
    ]
