"""Which model x format x precision combinations a run checks."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytest_triton.errors import ServerStartError, TritonPluginError
from pytest_triton.kinds import PERF_REFERENCE_MODEL, SERVED
from pytest_triton.launch_modes import make_server
from pytest_triton.models.served import unread_spec
from pytest_triton.models.spec import ModelSpec
from pytest_triton.models.variant import Variant
from pytest_triton.models.zoo import DEFAULT_MODELS, ZOO, zoo_spec
from pytest_triton.repository.existing import repository_models
from pytest_triton.settings import Settings


def select_specs(settings: Settings, user_specs: list[ModelSpec]) -> list[ModelSpec]:
    """--triton-models picks by name among zoo and user specs; without it: the defaults plus the user's. Where the
    models are already served (a remote server, --triton-model-repository), the served ones are checked instead,
    each with the user's spec, else the zoo's, else one the session reads from the server."""
    by_name = {spec.name: spec for spec in user_specs}
    served = checks_served_models(settings)
    names = settings.models or (served_models(settings) if served else (*DEFAULT_MODELS, *by_name))
    unused = sorted(set(settings.checkpoints) - set(names))
    if served and unused:  # a served model's name is checked only now that the server has answered
        raise TritonPluginError(
            f"a checkpoint is given for '{unused[0]}', which this run does not check (it checks "
            f"{', '.join(names)}); name the model as the server does",
            options=("triton_checkpoint", "triton_models"),
        )

    def spec_for(name: str) -> ModelSpec:
        if name in by_name:
            return by_name[name]
        if served and name not in ZOO:
            return unread_spec(name)
        return zoo_spec(name, settings.checkpoints.get(name))

    return [spec_for(name) for name in dict.fromkeys(names)]


def select_variants(settings: Settings, specs: list[ModelSpec]) -> list[Variant]:
    if checks_served_models(settings):
        # A served model has one format and precision, whatever it is; the first precision sets the tolerance, unless
        # the model's config says its data type (FasterTransformer's data_type).
        return [Variant(spec, SERVED, settings.precisions[0]) for spec in specs]
    return [
        Variant(spec, fmt, precision) for spec in specs for fmt in settings.formats for precision in settings.precisions
    ]


def checks_served_models(settings: Settings) -> bool:
    """Whether the run checks models someone else deployed (a remote server's, an existing repository's)."""
    return settings.launch_mode == "remote" or settings.model_repository is not None


def served_models(settings: Settings) -> tuple[str, ...]:
    """The models someone else deployed: the directories of the existing repository, or the models a remote server
    reports ready."""
    if settings.model_repository is not None:
        return repository_models(settings.model_repository)
    # A fleet is checked for the same models everywhere (xdist workers must collect alike): those any server has.
    # Servers are asked at once, so unreachable ones cost one start timeout, not one each; a server that does not
    # answer is left to its own worker, which fails saying so, and the others still run.
    with ThreadPoolExecutor(len(settings.remotes)) as pool:
        answers = list(pool.map(lambda number: _ready_models(settings, number), range(len(settings.remotes))))
    unreachable = [answer for answer in answers if isinstance(answer, ServerStartError)]
    if len(unreachable) == len(settings.remotes):
        raise unreachable[0]
    ready = {name for answer in answers if not isinstance(answer, ServerStartError) for name in answer}
    if not ready:
        where = ", ".join(str(remote) for remote in settings.remotes)
        raise TritonPluginError(
            f"the server at {where} serves no ready model; load one there, or name the models to check",
            options=("triton_models",),
        )
    return tuple(sorted(ready))


def _ready_models(settings: Settings, number: int) -> set[str] | ServerStartError:
    """The models remote server `number` reports ready, or why it did not answer."""
    from tritonclient.utils import InferenceServerException

    from pytest_triton.server.client import TritonClient

    remote = settings.remotes[number]
    try:
        endpoint = make_server(dataclasses.replace(settings, remote_index=number), Path.cwd()).start()
    except ServerStartError as error:
        return error
    with TritonClient(endpoint, endpoint.preferred(settings.protocol)) as client:
        try:
            index = client.repository_index()
        except InferenceServerException as refused:
            raise TritonPluginError(
                f"the server at {remote} did not list its models ({refused.message()}); name the models to check",
                options=("triton_models",),
            ) from None
    # A run that may load models there left its perf reference loaded: that is no model of theirs.
    return {str(m["name"]) for m in index if m.get("state") == "READY" and m["name"] != PERF_REFERENCE_MODEL}
