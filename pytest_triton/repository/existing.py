"""A model repository someone else wrote: which models it holds, read without loading anything. The server, not
this module, judges each model (a missing config.pbtxt is fine for backends that complete their own)."""

from __future__ import annotations

from pathlib import Path

from pytest_triton.errors import TritonPluginError


def repository_models(directory: Path) -> tuple[str, ...]:
    """The model names of a Triton model repository: its subdirectories, sorted (hidden ones are not models)."""
    if not directory.is_dir():
        raise TritonPluginError(
            f"model repository {directory} is not a directory; give the directory that holds one subdirectory per "
            "model (<model>/config.pbtxt, <model>/1/...)",
            options=("triton_model_repository",),
        )
    try:
        names = tuple(sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")))
    except OSError as error:
        raise TritonPluginError(
            f"model repository {directory} cannot be read: {error.strerror}", options=("triton_model_repository",)
        ) from None
    if not names:
        raise TritonPluginError(
            f"model repository {directory} holds no model directories (<model>/config.pbtxt, <model>/1/...)",
            options=("triton_model_repository",),
        )
    return names
