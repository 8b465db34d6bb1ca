"""Golden outputs: the inputs of a parity run, the reference's outputs and their tolerances, kept in files so that
any deployment (local, an existing repository, a remote server) can be checked against them without PyTorch.

One directory per model under the golden directory: golden.json (checked against golden.schema.json) and
golden.npz (arrays, keys case<i>/input/<name>, case<i>/output/<name>, case<i>/compared/<name>; BYTES stored as
fixed-width bytes, so nothing is unpickled). The manifest holds a sha256 of the arrays' contents: a file changed
or swapped after writing is refused by name, while two writers of the same outputs (xdist workers saving one model
from different variants) agree whatever order their writes land in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from filelock import FileLock, Timeout
from jsonschema import Draft202012Validator

from pytest_triton.atomic_write import write_bytes_atomic, write_text_atomic
from pytest_triton.baselines.schema import json_path
from pytest_triton.checks.payload import Expected
from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, Tolerance, is_float_dtype

MANIFEST, ARRAYS = "golden.json", "golden.npz"
_LOCK_TIMEOUT_S = 60.0
_FORMAT, _VERSION = "pytest-triton-golden", 1


class GoldenFileError(TritonPluginError):
    """A golden directory that cannot be used as it is: the message names the file and the tensor."""


@dataclass(frozen=True)
class Golden:
    """One model's golden outputs as read back."""

    model: str
    directory: Path
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    expected: Expected
    tolerances: Mapping[str, Mapping[str, Tolerance]]  # precision -> output -> tolerance

    def tolerances_at(self, precision: str) -> dict[str, Tolerance]:
        where = self.directory / MANIFEST
        if precision not in self.tolerances:
            raise GoldenFileError(
                f"{where} holds tolerances for {', '.join(sorted(self.tolerances))}, not {precision}; save the "
                "golden outputs again, or check at one of those precisions",
                options=("triton_precisions",),
            )
        chosen = dict(self.tolerances[precision])
        lacking = [t.name for t in self.outputs if t.name not in chosen]
        if lacking:
            raise GoldenFileError(f"{where}: the {precision} tolerances lack output '{lacking[0]}'")
        return chosen

    def check_fits(self, spec: ModelSpec) -> None:
        """The golden tensors are the served model's: same input names, dtype kinds and dims, and outputs it has."""
        where = self.directory / MANIFEST
        served = {t.name: t for t in spec.inputs}
        if set(served) != {t.name for t in self.inputs}:
            raise GoldenFileError(
                f"{where}: the golden inputs {sorted(t.name for t in self.inputs)} are not those of the served model "
                f"'{spec.name}' ({sorted(served)}); these golden outputs are of another model"
            )
        for tensor in self.inputs:
            other = served[tensor.name]
            if not _dims_fit(tensor.dims, other.dims) or _kind(tensor.dtype) != _kind(other.dtype):
                raise GoldenFileError(
                    f"{where}: input '{tensor.name}' is {tensor.dtype}{list(tensor.dims)} in the golden outputs but "
                    f"{other.dtype}{list(other.dims)} in the served model '{spec.name}'"
                )
        missing = sorted({t.name for t in self.outputs} - {t.name for t in spec.outputs})
        if missing:
            raise GoldenFileError(f"{where}: output '{missing[0]}' is not an output of the served model '{spec.name}'")


def save_golden(
    directory: Path, spec: ModelSpec, expected: Expected, tolerances: Tolerances, *, weights_digest: str, reference: str
) -> Path:
    """Write one model's golden outputs (replacing older ones); returns the model's golden directory."""
    arrays: dict[str, np.ndarray] = {}
    for index, (case, outputs) in enumerate(expected):
        for kind, named in (("input", case.inputs), ("output", outputs), ("compared", case.compared)):
            arrays.update({f"case{index}/{kind}/{name}": _storable(np.asarray(a)) for name, a in named.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    manifest = {
        "format": _FORMAT,
        "version": _VERSION,
        "model": spec.name,
        "weights_digest": weights_digest,
        "reference": reference,
        "inputs": [_tensor_json(t) for t in spec.inputs],
        "outputs": [_tensor_json(t) for t in spec.outputs],
        "cases": [{"label": case.label, "batch_size": case.batch_size} for case, _ in expected],
        "tolerances": {
            precision: {
                t.name: dataclasses.asdict(tolerances.for_output(precision, t.name, spec.tolerances))
                for t in spec.outputs
            }
            for precision in tolerances.by_precision
        },
        "arrays_sha256": _contents_digest(arrays),
    }
    _validate(manifest, directory / spec.name / MANIFEST)
    target = directory / spec.name
    target.mkdir(parents=True, exist_ok=True)
    # One writer at a time (xdist workers saving the same model from two variants), arrays first: a reader that
    # finds the new manifest finds its arrays too.
    try:
        with FileLock(str(target / ".golden.lock"), timeout=_LOCK_TIMEOUT_S):
            write_bytes_atomic(target / ARRAYS, buffer.getvalue())
            write_text_atomic(target / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    except Timeout:
        raise GoldenFileError(f"{target}: another process held its lock for {_LOCK_TIMEOUT_S:.0f} s") from None
    return target


def load_golden(directory: Path, model: str) -> Golden:
    """The golden outputs of `model` under `directory` (its subdirectory of that name: rename one to check a model
    served under another name); Unsupported where it holds none for this model, GoldenFileError naming the file
    (and the tensor) where they cannot be used."""
    target = directory / model
    manifest_path, arrays_path = target / MANIFEST, target / ARRAYS
    if not manifest_path.is_file():
        held = sorted(p.name for p in directory.iterdir() if (p / MANIFEST).is_file()) if directory.is_dir() else []
        raise Unsupported(
            f"no golden outputs for '{model}' in {directory} (it holds {', '.join(held) or 'none'}); save them with "
            "a parity run of the model",
            options=("triton_save_golden",),
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GoldenFileError(f"golden manifest {manifest_path} cannot be read: {error}") from None
    _validate(manifest, manifest_path)
    try:
        data = arrays_path.read_bytes()
    except OSError as error:
        raise GoldenFileError(f"golden arrays {arrays_path} cannot be read: {error.strerror}") from None
    inputs = tuple(_tensor(t) for t in manifest["inputs"])
    outputs = tuple(_tensor(t) for t in manifest["outputs"])
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise GoldenFileError(f"golden arrays {arrays_path} cannot be read: {error}") from None
    if _contents_digest(arrays) != manifest["arrays_sha256"]:
        raise GoldenFileError(
            f"{arrays_path} does not hold the arrays {MANIFEST} was written with (their sha256 differs): it was "
            "changed or replaced; save the golden outputs again"
        )
    expected: Expected = []
    for index, case in enumerate(manifest["cases"]):

        def take(kind: str, tensors: tuple[TensorSpec, ...], required: bool = True) -> dict[str, np.ndarray]:
            taken = {}
            for tensor in tensors:
                key = f"case{index}/{kind}/{tensor.name}"
                if key in arrays:
                    taken[tensor.name] = _restored(arrays[key])
                elif required:
                    raise GoldenFileError(f"{arrays_path} lacks the array {key} ({kind} '{tensor.name}')")
            return taken

        sample = SampleCase(case["batch_size"], case["label"], take("input", inputs), take("compared", outputs, False))
        expected.append((sample, take("output", outputs)))
    tolerances = {
        precision: {name: Tolerance(**values) for name, values in by_output.items()}
        for precision, by_output in manifest["tolerances"].items()
    }
    return Golden(model, target, inputs, outputs, expected, tolerances)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(resources.files(__package__).joinpath("golden.schema.json").read_text())
    return Draft202012Validator(schema)


def _validate(manifest: Any, path: Path) -> None:
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        problems = "\n".join(f"  {json_path(e.absolute_path)}: {e.message}" for e in errors[:5])
        raise GoldenFileError(f"golden manifest {path} does not match the golden schema:\n{problems}")


def _tensor_json(tensor: TensorSpec) -> dict[str, Any]:
    return {"name": tensor.name, "dtype": tensor.dtype, "dims": list(tensor.dims)}


def _tensor(data: Mapping[str, Any]) -> TensorSpec:
    return TensorSpec(data["name"], data["dtype"], tuple(data["dims"]))


def _kind(dtype: str) -> str:
    # Golden floats fit a served BF16 tensor: they are sent as bfloat16, and its outputs compare with them.
    return "f" if is_float_dtype(dtype) else np.dtype(dtype).kind


def _dims_fit(golden: tuple[int, ...], served: tuple[int, ...]) -> bool:
    return len(golden) == len(served) and all(g == s or -1 in (g, s) for g, s in zip(golden, served))


def _contents_digest(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = arrays[key]
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _storable(array: np.ndarray) -> np.ndarray:
    # Object arrays (BYTES) would need pickle to load; fixed-width bytes do not.
    return array.astype(bytes) if array.dtype == object else array


def _restored(array: np.ndarray) -> np.ndarray:
    return array.astype(object) if array.dtype.kind == "S" else array
