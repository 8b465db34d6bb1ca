"""Requests from a perf_analyzer input data file (`--input-data FILE.json`), read as perf_analyzer reads it.

    {"data": [{"INPUT0": [1, 2, 3], "INPUT1": {"content": [...], "shape": [2, 3]}, "IMAGE": {"b64": "..."}}, ...],
     "validation_data": [{"OUTPUT0": [...]}, ...]}

Each entry of "data" is one row (a batch-1 request); a request of batch size B takes B consecutive entries,
wrapping around, and the entries are sent in rotation. For a model without batching each entry is a whole request.
A flat list takes its shape from the tensor's dims; variable dims need "shape". "validation_data", where present,
holds the expected outputs entry by entry; perf_analyzer compares them exactly, the perf check within the
precision's tolerance. Sequence data (a list of lists of entries, one per stream) is not supported.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from pytest_triton.errors import TritonPluginError
from pytest_triton.models.spec import SampleCase, TensorSpec


class InputDataError(TritonPluginError):
    """An input data file that cannot be read as perf_analyzer's format, or that does not fit the model."""

    def __init__(self, message: str) -> None:
        super().__init__(message, options=("triton_perf_input_data",))


@dataclass(frozen=True)
class InputData:
    """A file's requests, named as the server names the tensors, with the outputs each must give where the file
    has validation_data."""

    cases: tuple[SampleCase, ...]
    expected: tuple[Mapping[str, np.ndarray], ...] | None


def read_input_data(
    path: Path,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    batch_size: int,
    batched: bool,
    aliases: Mapping[str, str] | None = None,
) -> InputData:
    """Requests of `batch_size` rows (one entry each when not `batched`) for a model served with `inputs` and
    `outputs` (served names, dtypes and per-row dims). `aliases`: other names a file may use for them (a spec's
    names, where the server's differ: libtorch serves input__0)."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise InputDataError(f"cannot read the input data file {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputDataError(f"the input data file {path} is not JSON: {error}") from None
    entries = _entries(document, "data", path)
    if not entries:
        raise InputDataError(f'{path}: "data" holds no entries: give at least one request\'s inputs')
    rows = [_tensors(entry, inputs, aliases or {}, f"{path}: data[{i}]") for i, entry in enumerate(entries)]
    expected_rows = None
    if "validation_data" in document:
        checked = _entries(document, "validation_data", path)
        if len(checked) != len(entries):
            raise InputDataError(
                f'{path}: "validation_data" has {len(checked)} entries for {len(entries)} in "data": '
                "give one per data entry, in the same order"
            )
        expected_rows = [
            _tensors(entry, outputs, aliases or {}, f"{path}: validation_data[{i}]") for i, entry in enumerate(checked)
        ]
    if not batched:
        cases = tuple(SampleCase(1, f"entry{i}", row) for i, row in enumerate(rows))
        return InputData(cases, tuple(expected_rows) if expected_rows else None)
    # As perf_analyzer wraps around: after this many requests the rotation starts over at entry 0.
    count = len(rows) // math.gcd(len(rows), batch_size)
    picks = [[(index * batch_size + k) % len(rows) for k in range(batch_size)] for index in range(count)]
    cases = tuple(SampleCase(batch_size, f"entries{pick[0]}-{pick[-1]}", _stacked(rows, pick, path)) for pick in picks)
    expected = tuple(_stacked(expected_rows, pick, path) for pick in picks) if expected_rows else None
    return InputData(cases, expected)


def _entries(document: Any, key: str, path: Path) -> list[Mapping[str, Any]]:
    if not isinstance(document, dict) or key not in document:
        raise InputDataError(f'{path}: expected perf_analyzer\'s input data format, an object with a "{key}" list')
    entries = document[key]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        if isinstance(entries, list) and entries and all(isinstance(e, list) for e in entries):
            raise InputDataError(f'{path}: "{key}" holds streams (lists of entries): sequence data is not supported')
        raise InputDataError(f'{path}: "{key}" must be a list of objects, one per request')
    return entries


def _tensors(
    given: Mapping[str, Any], tensors: Sequence[TensorSpec], aliases: Mapping[str, str], where: str
) -> dict[str, np.ndarray]:
    entry = {aliases.get(name, name): value for name, value in given.items()}
    names = {t.name for t in tensors}
    unknown = sorted(set(entry) - names)
    missing = sorted(names - set(entry))
    if unknown or missing:
        raise InputDataError(
            f"{where}: the model's tensors are {sorted(names)}"
            + (f"; not the model's: {unknown}" if unknown else "")
            + (f"; missing: {missing}" if missing else "")
        )
    return {t.name: _array(entry[t.name], t, f"{where}.{t.name}") for t in tensors}


def _array(value: Any, tensor: TensorSpec, where: str) -> np.ndarray:
    dtype = np.dtype(tensor.dtype)  # BYTES tensors are numpy objects
    shape: tuple[int, ...] = tensor.dims
    if isinstance(value, dict):
        if "shape" in value:
            given = value["shape"]
            if not isinstance(given, list) or not all(isinstance(d, int) and d >= 0 for d in given):
                raise InputDataError(f'{where}: "shape" must be a list of sizes, e.g. [3, 224, 224], not {given!r}')
            shape = tuple(given)
        if "b64" in value:
            try:
                raw = base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, TypeError):
                raise InputDataError(f'{where}: "b64" is not base64') from None
            if dtype.kind == "O":
                raise InputDataError(f'{where}: give BYTES tensors as a list of strings, not "b64"')
            if len(raw) % dtype.itemsize:
                raise InputDataError(f"{where}: {len(raw)} bytes are no whole number of {tensor.dtype} values")
            flat = np.frombuffer(raw, dtype=dtype)
        elif "content" in value:
            flat = _flat(value["content"], dtype, where)
        else:
            raise InputDataError(f'{where}: expected a list, or an object with "content" or "b64"')
    else:
        flat = _flat(value, dtype, where)
    if any(d < 0 for d in shape):
        raise InputDataError(f'{where}: the tensor has variable dims {list(tensor.dims)}: give its "shape"')
    if len(shape) != len(tensor.dims) or any(d != s for d, s in zip(tensor.dims, shape) if d >= 0):
        raise InputDataError(f"{where}: shape {list(shape)} does not fit the tensor's dims {list(tensor.dims)}")
    if flat.size != int(np.prod(shape)):
        raise InputDataError(f"{where}: {flat.size} values do not fill shape {list(shape)}")
    return flat.reshape(shape)


def _flat(values: Any, dtype: np.dtype, where: str) -> np.ndarray:
    if not isinstance(values, list):
        raise InputDataError(f"{where}: expected a list of values")
    try:
        if dtype.kind == "O":
            return np.array([str(v).encode() for v in np.ravel(np.array(values, dtype=object))], dtype=object)
        return np.ravel(np.array(values, dtype=dtype))
    except (TypeError, ValueError) as error:
        raise InputDataError(f"{where}: the values are not {dtype}: {error}") from None


def _stacked(rows: Sequence[Mapping[str, np.ndarray]], pick: Sequence[int], path: Path) -> dict[str, np.ndarray]:
    stacked = {}
    for name in rows[0]:
        shapes = {rows[i][name].shape for i in pick}
        if len(shapes) > 1:
            raise InputDataError(
                f"{path}: entries {pick[0]} to {pick[-1]} make one request, but their '{name}' shapes differ "
                f"({sorted(shapes)}): give consecutive entries of one request the same shape"
            )
        stacked[name] = np.stack([rows[i][name] for i in pick])
    return stacked
