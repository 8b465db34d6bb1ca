"""What makes an export: the model's weights, its code and the signature it is exported with, each as a digest.

The export cache is keyed on these, so that a changed forward(), a fixed spec or other trace shapes export again
instead of serving an export of the model as it was.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

from pytest_triton.models.spec import ModelSpec

if TYPE_CHECKING:  # imported where a model is exported or hashed: served models are checked without torch
    import numpy as np
    import torch

WEIGHTS_DIGITS = 16  # of weights_digest() that baselines keep: plenty to tell models apart, short to read


def weights_digest(module: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer, names included: what makes two models the same."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def code_digest(module: torch.nn.Module) -> str:
    """sha256 over the code of the module tree: its repr (every module's class and settings: a ReLU swapped for a
    GELU in an nn.Sequential, another stride), the whole source file of each class outside torch (so a helper
    function or constant beside the class counts too), the code of scripted and fx-traced modules, and the
    bytecode of classes with no file (defined in a notebook or by exec). torch's own code is covered by the torch
    version the cache key holds. Code the model calls in other files (a helper module of yours) is not."""
    digest = hashlib.sha256(repr(module).encode())
    for part in sorted(set(_code_parts(module))):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _code_parts(module: torch.nn.Module) -> Iterator[bytes]:
    import torch

    classes: set[type] = set()
    for submodule in module.modules():
        if isinstance(submodule, torch.jit.ScriptModule):
            # Every method, helpers and a ModuleList's __len__ included: a container has no forward to show.
            yield b"".join(f"{n}:{submodule._c._get_method(n).code}".encode() for n in submodule._c._method_names())
        elif isinstance(submodule, torch.fx.GraphModule):
            yield submodule.code.encode()
        classes.update(type(submodule).__mro__)
    for cls in classes:
        if cls is not object and cls.__module__ != "torch" and not cls.__module__.startswith("torch."):
            yield from _class_code(cls)


def _class_code(cls: type) -> Iterator[bytes]:
    """The source files of the class's own functions, found from their code objects (a lookup by module name can
    find another file: every conftest.py is a module named "conftest"); their bytecode where a file is gone."""
    functions = [getattr(value, "__func__", value) for value in vars(cls).values()]
    codes = [function.__code__ for function in functions if inspect.isfunction(function)]
    files = {Path(code.co_filename) for code in codes}
    if codes and all(file.is_file() for file in files):
        yield from (file.read_bytes() for file in files)
    else:
        yield cls.__qualname__.encode() + b"".join(_bytecode(code) for code in codes)


def _bytecode(code: types.CodeType) -> bytes:
    """What a function does, without where it was defined: a notebook names its cells after the kernel's process,
    so file names and line numbers would change at every restart."""
    return code.co_code + repr(code.co_names).encode() + b"".join(_constant(c) for c in code.co_consts)


def _constant(value: object) -> bytes:
    if isinstance(value, types.CodeType):
        return _bytecode(value)
    if isinstance(value, frozenset):  # `x in {"a", "b"}`: its order follows the process's string hashing
        return repr(sorted(value, key=repr)).encode()
    return repr(value).encode()


def signature_text(spec: ModelSpec, example: Mapping[str, np.ndarray]) -> str:
    """The spec's inputs, outputs and max_batch_size, and the shapes and dtypes the export is traced with."""
    traced = sorted((name, tuple(array.shape), array.dtype.str) for name, array in example.items())
    return repr((spec.inputs, spec.outputs, spec.max_batch_size, traced))


@dataclass(frozen=True)
class Fingerprint:
    """A built model's weights and code, each as a digest."""

    weights: str
    code: str

    @staticmethod
    def of(module: torch.nn.Module) -> "Fingerprint":
        return Fingerprint(weights_digest(module), code_digest(module))

    @property
    def digest(self) -> str:
        """Both in one: what the export cache is keyed on, beside the spec's signature."""
        return hashlib.sha256(f"{self.weights}|{self.code}".encode()).hexdigest()
