"""The baseline deployment a run's models are measured against: a directory (a saved deployment, or any Triton
model repository) whose models are loaded beside the run's under other names, or a server someone else runs. Here:
which of its models stands for a candidate, loading one from a directory, and checking it takes the same requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from pytest_triton.errors import BaselineDeploymentError, ModelLoadError, Unsupported
from pytest_triton.models.served import served_tensor
from pytest_triton.models.spec import TensorSpec
from pytest_triton.repository.baseline_source import BaselineSource
from pytest_triton.repository.saved import MANIFEST, read_manifest
from pytest_triton.repository.store import ModelRepository

SUFFIX = ".baseline"  # a baseline model's name beside the candidate's on the same server


def directory_models(directory: Path) -> tuple[str, ...]:
    """The model directories of `directory`, after checking its manifest where it has one (a saved deployment)."""
    if not directory.is_dir():
        raise BaselineDeploymentError(
            f"the baseline deployment {directory} is not a directory: give a directory --triton-save-deployment "
            "wrote, or a Triton model repository",
            options=("triton_perf_against",),
        )
    saved = read_manifest(directory)
    names = tuple(sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")))
    missing = sorted(set(saved or ()) - set(names))
    if missing:
        raise BaselineDeploymentError(
            f"the baseline deployment {directory} is partial: its {MANIFEST} lists {', '.join(missing)}, which it has "
            "no directory for; save it again, or copy the whole directory"
        )
    return names


def baseline_model(candidate: str, model: str, available: Sequence[str], source: BaselineSource) -> str:
    """The baseline's model for `candidate` (a variant of `model`): the one mapped to either name where one is (and
    no other), else the same served name, else one named for the model (a repository whose model is served under its
    own name)."""
    mapped = source.names.get(candidate) or source.names.get(model)
    for wanted in (mapped,) if mapped else (candidate, model):
        if wanted in available:
            return wanted
    shown = ", ".join(available[:12]) + (", ..." if len(available) > 12 else "") or "no models"
    head = f"no model '{mapped}' (mapped to {model})" if mapped else f"no model '{candidate}' or '{model}'"
    raise BaselineDeploymentError(
        f"the baseline deployment {source.label} has {head} (it holds {shown}): save a baseline of the same models, "
        f"or map it with {model}=NAME",
        options=("triton_perf_against_model",),
    )


def load_from_directory(repository: ModelRepository, directory: Path, name: str) -> str:
    """Load `directory`/`name` beside the run's models as `name` + SUFFIX, its files as they are (the python runner's
    code too), its config renamed; returns the loaded name."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    source = directory / name
    config_file = source / "config.pbtxt"
    if not config_file.is_file():
        raise BaselineDeploymentError(
            f"the baseline model {source} has no config.pbtxt: the directory is partial; save it again (a model "
            "whose backend completes its config is measured against on a server that serves it: give its URL)"
        )
    try:
        config = text_format.Parse(config_file.read_text(), mc.ModelConfig())
    except (text_format.ParseError, UnicodeDecodeError) as error:
        raise BaselineDeploymentError(f"{config_file} is not a valid model config: {error}") from None
    files = {str(p.relative_to(source)): p for p in source.rglob("*") if p.is_file() and p.name != "config.pbtxt"}
    if not any(part.split("/")[0].isdigit() for part in files):
        raise BaselineDeploymentError(f"the baseline model {source} has no version directory (1/...): it is partial")
    loaded = name + SUFFIX
    config.name = loaded
    try:
        repository.place(loaded, config, files)
    except ModelLoadError as error:
        raise BaselineDeploymentError(f"the baseline model {source} failed to load: {error}") from None
    return loaded


def check_signature(
    inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], metadata: Mapping[str, Any], where: str, batch: int
) -> None:
    """The baseline must take the candidate's inputs and give its outputs: the same names, datatypes and dims."""
    served = {}
    for t in (*metadata.get("inputs", []), *metadata.get("outputs", [])):
        try:
            served[t["name"]] = served_tensor(where, t, batch)
        except Unsupported as error:
            raise BaselineDeploymentError(str(error)) from None
    for tensor in (*inputs, *outputs):
        theirs = served.get(tensor.name)
        if theirs is None:
            raise BaselineDeploymentError(
                f"the baseline {where} has no tensor '{tensor.name}' (it serves {', '.join(served) or 'none'}): it is "
                "another model or signature; measure against a baseline of the same model"
            )
        if theirs.dtype != tensor.dtype or not _same_dims(theirs.dims, tensor.dims):
            raise BaselineDeploymentError(
                f"the baseline {where} serves '{tensor.name}' as {theirs.dtype} {list(theirs.dims)}, the candidate as "
                f"{tensor.dtype} {list(tensor.dims)}: the same requests cannot go to both"
            )


def _same_dims(theirs: Sequence[int], ours: Sequence[int]) -> bool:
    """The same rank, and the same size wherever both fix one (-1: variable)."""
    return len(theirs) == len(ours) and all(a == b or a < 0 or b < 0 for a, b in zip(theirs, ours))
