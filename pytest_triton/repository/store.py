"""Placing models where a server can load them: its repository directory, or the repository API itself."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Mapping

from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.errors import ModelLoadError, Unsupported
from pytest_triton.repository.config import to_json, to_pbtxt
from pytest_triton.server.client import TritonClient

UNLOAD_TIMEOUT_S = 60.0  # in-flight requests finish first; none are in flight when a cold start is retaken


class ModelRepository:
    """Models for one server. With `directory` (a server we launched) files are written there; without it
    (a container or a remote server in explicit mode) they travel inside the load request."""

    def __init__(self, client: TritonClient, directory: Path | None) -> None:
        self.client = client
        self.directory = directory

    def place(self, name: str, config: mc.ModelConfig, files: Mapping[str, Path | bytes]) -> float:
        """Put `files` (paths relative to the model directory, e.g. "1/model.onnx") and the config in place,
        then load the model; a refusal raises ModelLoadError with the server's reason. Returns the seconds the load
        request took (with no repository directory here, the files travel inside it)."""
        if self.directory is None:
            payload = {f"file:{rel}": src if isinstance(src, bytes) else src.read_bytes() for rel, src in files.items()}
            return self._timed_load(name, to_json(config), payload)
        write_model(self.directory / name, config, files)
        return self._timed_load(name)

    def reload(self, name: str) -> float:
        """Unload `name` and load it again from its files in place, a cold start once more; returns the seconds
        the load request took. Unsupported without a repository directory here: the files that travelled inside
        the first load request are gone with the unload."""
        if self.directory is None:
            raise Unsupported(f"{name} was loaded with its files inside the request: it cannot be reloaded")
        self.unload(name)
        return self._timed_load(name)

    def unload(self, name: str) -> None:
        """Unload `name` and wait until the server no longer has it ready (the unload request returns before the
        model is gone)."""
        from tritonclient.utils import InferenceServerException

        try:
            self.client.unload_model(name)
        except InferenceServerException as error:
            raise ModelLoadError(f"the server would not unload {name}: {error.message()}") from None
        deadline = time.monotonic() + UNLOAD_TIMEOUT_S
        while self.client.is_model_ready(name):
            if time.monotonic() > deadline:
                raise ModelLoadError(f"{name} was still ready {UNLOAD_TIMEOUT_S:.0f} s after its unload request")
            time.sleep(0.05)

    def _timed_load(self, name: str, config_json: str | None = None, files: Mapping[str, bytes] | None = None) -> float:
        began = time.perf_counter()
        self.client.load_model(name, config_json, files)
        return time.perf_counter() - began


def write_model(model_dir: Path, config: mc.ModelConfig, files: Mapping[str, Path | bytes]) -> None:
    """Put `files` (paths relative to the model directory, e.g. "1/model.onnx") into `model_dir`, then its
    config.pbtxt, replaced whole so that a server polling the directory never reads half of one."""
    for rel, source in files.items():
        target = model_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            _link_or_copy(source, target)
    staging = model_dir / "config.pbtxt.tmp"
    staging.write_text(to_pbtxt(config))
    staging.replace(model_dir / "config.pbtxt")


def _link_or_copy(source: Path, target: Path) -> None:
    # A hard link costs nothing for a 1 GB export; across file systems fall back to a copy.
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
