"""Exports cached by content hash: the model's weights and code, the spec's signature and trace shapes, format,
precision, device kind, exporter settings and the format's runtime versions.

A second run finds the artifact and does not export again. Writes go to a temporary directory that is
renamed into place under a file lock, so xdist workers never export the same thing twice at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np
from filelock import FileLock

from pytest_triton.atomic_write import staged_directory
from pytest_triton.errors import ExportError, Unsupported, first_line
from pytest_triton.export.exporters import ExportRequest
from pytest_triton.export.fingerprint import signature_text
from pytest_triton.export.formats import export_format, load_runner
from pytest_triton.models.spec import ModelSpec, TensorSpec

if TYPE_CHECKING:  # imported where a model is exported or hashed: served models are checked without torch
    import torch

_UNSUPPORTED = "unsupported.txt"


@dataclass(frozen=True)
class Artifact:
    """An exported model file and the I/O it carries."""

    path: Path
    format: str
    precision: str
    device: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    cache_hit: bool


def artifact_io(spec: ModelSpec, fmt: str, precision: str) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """Inputs and outputs as an artifact of this format and precision carries them."""
    io_precision = precision if export_format(fmt).fp16_io else "fp32"
    return (
        tuple(t.at_precision(io_precision) for t in spec.inputs),
        tuple(t.at_precision(io_precision) for t in spec.outputs),
    )


class ExportCache:
    """Artifacts under `root`, one directory per content hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def key(self, digest: str, signature: str, fmt: str, precision: str, device: str) -> str:
        """`digest`: the model's weights and code (fingerprint.Fingerprint); `signature`: the spec's signature and
        trace shapes (fingerprint.signature_text)."""
        device_kind = "cuda" if device.startswith("cuda") else "cpu"
        record = export_format(fmt)
        versions = "|".join(f"{name}-{_version(name)}" for name in record.runtimes)
        recipe = f"{digest}|{signature}|{fmt}|{precision}|{device_kind}|{record.settings}|{versions}"
        return hashlib.sha256(recipe.encode()).hexdigest()[:20]

    def get(
        self, spec: ModelSpec, module: torch.nn.Module, digest: str, fmt: str, precision: str, device: str
    ) -> Artifact:
        """The artifact for this variant, exported and checked on first use; Unsupported where it cannot run.
        `digest`: the module's weights and code (fingerprint.Fingerprint.digest)."""
        check_supported(spec, fmt, precision, device)
        example = largest_sample(spec)
        key = self.key(digest, signature_text(spec, example), fmt, precision, device)
        directory = self.root / f"{spec.name}-{fmt}-{precision}-{key}"
        inputs, outputs = artifact_io(spec, fmt, precision)
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(directory) + ".lock", timeout=1800):
            hit = directory.is_dir()
            if not hit:
                self._export(ExportRequest(spec, module, precision, device, example), fmt, directory, inputs)
        if (directory / _UNSUPPORTED).exists():
            raise Unsupported((directory / _UNSUPPORTED).read_text())
        file_name = export_format(fmt).file_name
        return Artifact(directory / file_name, fmt, precision, device, inputs, outputs, cache_hit=hit)

    def _export(self, request: ExportRequest, fmt: str, directory: Path, inputs: tuple[TensorSpec, ...]) -> None:
        record, spec, precision = export_format(fmt), request.spec, request.precision
        with staged_directory(directory) as staging:
            target = staging / record.file_name
            try:
                record.exporter.export(request, target)
            except Exception as error:  # torch, onnx and TensorRT each raise their own types
                raise ExportError(
                    f"{spec.name} cannot be exported as {fmt} {precision}: {first_line(error)}; serve it in another "
                    f"format, or declare the format unsupported in its spec (unsupported_formats={{'{fmt}': 'why'}}) "
                    "to skip it with that reason",
                    options=("triton_formats",),
                ) from error
            # One row where the model batches; a model without batching takes its sample as it is.
            example = request.example
            one = {name: array[:1] for name, array in example.items()} if spec.max_batch_size > 0 else example
            reason = _runtime_refusal(fmt, target, request.device, precision, inputs, one)
            if reason and precision == "fp32":
                raise ExportError(f"the fresh {fmt} export of {spec.name} does not run: {reason}")
            if reason:
                # Remember the refusal too, so a later run skips at once instead of exporting again.
                target.unlink()
                (staging / _UNSUPPORTED).write_text(reason)


def _version(distribution: str) -> str:
    """The installed version of a distribution, read without importing it; "absent" where it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "absent"


def check_supported(spec: ModelSpec, fmt: str, precision: str, device: str) -> None:
    """Raise Unsupported for what is known not to work before anything is built or exported."""
    if fmt in spec.unsupported_formats:
        raise Unsupported(f"{spec.name} as {fmt}: {spec.unsupported_formats[fmt]}")
    export_format(fmt).exporter.check_supported(precision, device)


def largest_sample(spec: ModelSpec) -> dict[str, np.ndarray]:
    """The inputs of the spec's largest sample case: the shape exports are traced and profiled with."""
    return dict(spec.largest_case().inputs)


def _runtime_refusal(
    fmt: str, path: Path, device: str, precision: str, inputs: tuple[TensorSpec, ...], example: Mapping[str, np.ndarray]
) -> str:
    """Run the fresh artifact once where it will be served. Reduced precision is optional for a runtime:
    its refusal becomes the skip reason; an fp32 artifact that does not run is a real failure."""
    try:
        runner = load_runner(fmt, path, device)
        runner.run([example[t.name].astype(t.dtype) for t in inputs])
    except Exception as error:  # each runtime has its own error types; any means "cannot run here"
        return f"{fmt} {precision} does not run on {device} here: {first_line(error)}"
    return ""
