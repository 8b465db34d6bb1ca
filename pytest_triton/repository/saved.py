"""A deployment saved for a later run to be measured against: each model's directory as the server loaded it (its
config, its artifact, and the python runner's code where that serves it, so the saved model keeps behaving as it
did), and manifest.json, checked against saved_deployment.schema.json, saying what each model is and what made it."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.atomic_write import write_text_atomic
from pytest_triton.errors import BaselineDeploymentError, TritonPluginError, first_line
from pytest_triton.repository.deployment import ModelFiles
from pytest_triton.repository.store import write_model

MANIFEST = "manifest.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SavedModel:
    """One saved model: the variant and serving policy it is, and what made it."""

    model: str
    format: str
    precision: str
    serving: str  # the serving policy's name suffix ("" for the default)
    max_batch_size: int
    served_by: str
    weights_digest: str
    code_digest: str
    saved_at: str
    versions: Mapping[str, str | None]


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = json.loads(resources.files(__package__).joinpath("saved_deployment.schema.json").read_text())
    return Draft202012Validator(schema)


def save_model(directory: Path, name: str, made: ModelFiles, entry: SavedModel) -> None:
    """Write `made` as `directory`/`name` (replacing what an earlier save left there) and its manifest entry. Workers
    of one run may save into the same directory: the manifest is updated under a lock. TritonPluginError where the
    directory holds something else's manifest, or cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory):
            try:
                models = read_manifest(directory) or {}
            except BaselineDeploymentError as error:
                raise TritonPluginError(
                    f"{directory} already holds a manifest.json that is not a saved deployment's "
                    f"({first_line(error)}); save into a new directory, or remove it",
                    options=("triton_save_deployment",),
                ) from None
            shutil.rmtree(directory / name, ignore_errors=True)
            write_model(directory / name, made.config, made.files)
            models[name] = entry
            document = {
                "schema_version": SCHEMA_VERSION,
                "models": {k: dataclasses.asdict(v) for k, v in models.items()},
            }
            _check(document, directory / MANIFEST, "written")
            write_text_atomic(directory / MANIFEST, json.dumps(document, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise TritonPluginError(
            f"the deployment cannot be saved into {directory}: {error.strerror or error}",
            options=("triton_save_deployment",),
        ) from None


def read_manifest(directory: Path) -> dict[str, SavedModel] | None:
    """The saved models by served name, or None where `directory` has no manifest (a repository written some other
    way). BaselineDeploymentError where the manifest is not valid JSON or not valid against the schema."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineDeploymentError(
            f"{path} cannot be read as JSON ({error}); save the deployment again with --triton-save-deployment"
        ) from None
    _check(document, path, "read")
    return {name: SavedModel(**fields) for name, fields in document["models"].items()}


def _check(document: Any, path: Path, action: str) -> None:
    problems = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if problems:
        where = "/".join(map(str, problems[0].absolute_path)) or "the top level"
        raise BaselineDeploymentError(
            f"{path}, {action}, does not match the saved deployment schema at {where}: {problems[0].message}; "
            "save the deployment again with --triton-save-deployment"
        )


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
