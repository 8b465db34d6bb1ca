"""A spec checked against itself, its samples and its model before anything is exported: a mistake in a team's own
ModelSpec fails once, in one sentence that names the field to fix, instead of deep inside an exporter or a check."""

from __future__ import annotations

import itertools
import os
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from pytest_triton.errors import Advised, SpecError, first_line
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, dims_fit

if TYPE_CHECKING:
    import torch


def checked_module(spec: ModelSpec) -> torch.nn.Module:
    """The module of `spec.build`, checked against the spec (check_spec); what build itself raises becomes a
    SpecError too, unless it is one of the library's own errors (a checkpoint that is not there, say)."""
    try:
        module = spec.reference_module()
    except Advised:
        raise
    except Exception as error:  # whatever the team's build function raises
        raise SpecError(f"{spec.name}: ModelSpec.build raises {type(error).__name__}: {first_line(error)}") from error
    check_spec(spec, module)
    return module


def check_spec(spec: ModelSpec, module: object) -> None:
    """The declaration, every sample case, and `module` (what `build` returned) run on the smallest case: SpecError
    at the first contradiction. The smallest, since the samples' shapes are checked already and a forward pass on
    the largest costs bert-large 30 s on a CPU; the export traces the largest right after."""
    check_declaration(spec)
    cases = spec.make_samples()
    check_samples(spec, cases)
    check_forward(spec, module, min(cases, key=lambda c: sum(a.size for a in c.inputs.values())))


def check_declaration(spec: ModelSpec) -> None:
    """Names, dtypes, dims and max_batch_size as Triton can serve them."""
    if not spec.inputs or not spec.outputs:
        raise SpecError(
            f"{spec.name}: ModelSpec.{'inputs' if not spec.inputs else 'outputs'} is empty; declare one "
            "TensorSpec per tensor the model takes and gives"
        )
    if spec.max_batch_size < 0:
        raise SpecError(
            f"{spec.name}: ModelSpec.max_batch_size is {spec.max_batch_size}; declare the largest batch "
            "the model takes, or 0 where it does not batch"
        )
    names = [t.name for t in (*spec.inputs, *spec.outputs)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SpecError(
            f"{spec.name}: the tensor name '{repeated[0]}' is declared twice in ModelSpec.inputs and "
            "outputs; give every tensor a name of its own"
        )
    for field, tensors in (("inputs", spec.inputs), ("outputs", spec.outputs)):
        for tensor in tensors:
            _check_tensor(spec.name, field, tensor)


def _check_tensor(model: str, field: str, tensor: TensorSpec) -> None:
    where = f"{model}: ModelSpec.{field} '{tensor.name}'"
    if _dtype_name(tensor.dtype) is None:
        raise SpecError(
            f"{where} has dtype {tensor.dtype!r}, which numpy does not know; use a numpy dtype name "
            "such as 'float32' or 'int64'"
        )
    if not all(isinstance(d, int) and (d == -1 or d > 0) for d in tensor.dims):
        raise SpecError(
            f"{where} has dims {tensor.dims!r}; each dim is a size of at least 1, or -1 where it "
            "varies, without the batch dimension"
        )


def check_samples(spec: ModelSpec, cases: Sequence[object]) -> None:
    """Every case a SampleCase whose arrays are the declared inputs, of their dtypes and dims, batched as declared."""
    if not cases:
        raise SpecError(f"{spec.name}: ModelSpec.make_samples returns no sample case; return at least one SampleCase")
    for case in cases:
        if not isinstance(case, SampleCase):
            raise SpecError(
                f"{spec.name}: ModelSpec.make_samples returns a {type(case).__name__}; return a list of "
                "SampleCase(batch_size, label, inputs)"
            )
        _check_case(spec, case)


def _check_case(spec: ModelSpec, case: SampleCase) -> None:
    import numpy as np

    where = f"{spec.name}: sample case '{case.label}'"
    declared = spec.input_names()
    extra = sorted(set(case.inputs) - set(declared))
    missing = [name for name in declared if name not in case.inputs]
    if missing or extra:
        raise SpecError(
            f"{where} has inputs {sorted(case.inputs)}, but ModelSpec.inputs declares {declared}; make "
            "make_samples give exactly the declared inputs, by name"
        )
    if spec.max_batch_size > 0 and not 1 <= case.batch_size <= spec.max_batch_size:
        raise SpecError(
            f"{where} has batch_size {case.batch_size}, outside 1 to ModelSpec.max_batch_size "
            f"({spec.max_batch_size}); give smaller batches, or raise max_batch_size"
        )
    for tensor in spec.inputs:
        array = case.inputs[tensor.name]
        if not isinstance(array, np.ndarray):
            raise SpecError(f"{where} gives input '{tensor.name}' as a {type(array).__name__}; give numpy arrays")
        if array.dtype.name != _dtype_name(tensor.dtype):
            raise SpecError(
                f"{where} gives input '{tensor.name}' as {array.dtype.name}, but ModelSpec.inputs "
                f"declares {tensor.dtype}; give {tensor.dtype} arrays, or declare "
                f"{array.dtype.name}"
            )
        problem = _shape_problem(spec, tensor, array.shape, case.batch_size)
        if problem:
            raise SpecError(
                f"{where} gives input '{tensor.name}' shaped {list(array.shape)}, but ModelSpec.inputs "
                f"declares {problem}; give arrays of that shape, or mark the dim -1 where it "
                "varies"
            )


def check_forward(spec: ModelSpec, module: object, case: SampleCase) -> None:
    """`module` is an nn.Module in eval mode whose forward takes the sample's inputs and gives the declared outputs:
    one tensor, or a tuple of them in ModelSpec.outputs order, of their dtypes and dims."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise SpecError(
            f"{spec.name}: ModelSpec.build returns a {type(module).__name__}; return the eager torch.nn.Module"
        )
    if module.training:
        raise SpecError(
            f"{spec.name}: ModelSpec.build returns a module in training mode (dropout and batch norm "
            "would change its answers); return module.eval()"
        )
    # Where the module's weights are: build may return it on a GPU.
    device = next(itertools.chain(module.parameters(), module.buffers()), torch.empty(0)).device
    try:
        with torch.no_grad():
            returned = module(*(torch.from_numpy(case.inputs[t.name]).to(device) for t in spec.inputs))
    except Exception as error:  # whatever the model's own code raises
        raise SpecError(
            f"{spec.name}: the module of ModelSpec.build fails on sample case '{case.label}'{_where(error)} "
            f"({type(error).__name__}: {first_line(error)})"
            + (f"; forward takes the inputs positionally, in ModelSpec.inputs order ({', '.join(spec.input_names())})"
               if isinstance(error, TypeError) else "")
        ) from None  # fmt: skip
    _check_outputs(spec, returned, case)


def _check_outputs(spec: ModelSpec, returned: object, case: SampleCase) -> None:
    import torch

    names = ", ".join(spec.output_names())
    contract = f"return a tensor, or a tuple of {len(spec.outputs)} tensors in ModelSpec.outputs order ({names})"
    if isinstance(returned, torch.Tensor):
        returned = (returned,)
    if isinstance(returned, Mapping) or not isinstance(returned, (tuple, list)):
        raise SpecError(f"{spec.name}: forward returns a {type(returned).__name__}; {contract}")
    if len(returned) != len(spec.outputs) or not all(isinstance(o, torch.Tensor) for o in returned):
        kinds = ", ".join(type(o).__name__ for o in returned)
        raise SpecError(f"{spec.name}: forward returns ({kinds}); {contract}")
    for tensor, output in zip(spec.outputs, returned):
        where = f"{spec.name}: output '{tensor.name}' of sample case '{case.label}'"
        dtype = str(output.dtype).removeprefix("torch.")
        if dtype != _dtype_name(tensor.dtype):
            raise SpecError(
                f"{where} is {dtype}, but ModelSpec.outputs declares {tensor.dtype}; declare {dtype}, "
                f"or return {tensor.dtype}"
            )
        problem = _shape_problem(spec, tensor, tuple(output.shape), case.batch_size)
        if problem:
            raise SpecError(
                f"{where} is shaped {list(output.shape)}, but ModelSpec.outputs declares {problem}; "
                f"declare dims {_dims_of(spec, output.shape)}, or -1 where a dim varies"
            )


def _shape_problem(spec: ModelSpec, tensor: TensorSpec, shape: tuple[int, ...], batch_size: int) -> str:
    """What the declaration says where `shape` does not fit it (the batch dimension first where the model batches);
    "" where it fits."""
    if dims_fit(((batch_size,) if spec.max_batch_size > 0 else ()) + tuple(tensor.dims), shape):
        return ""
    shown = ", ".join("?" if d == -1 else str(d) for d in tensor.dims)
    if spec.max_batch_size > 0:
        return f"[batch {batch_size}{', ' if tensor.dims else ''}{shown}] (dims {tensor.dims})"
    return f"[{shown}] (dims {tensor.dims}, max_batch_size 0: no batch dimension)"


def _dims_of(spec: ModelSpec, shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(shape[1:] if spec.max_batch_size > 0 else shape)


def _dtype_name(dtype: str) -> str | None:
    """numpy's name of a dtype ('float' -> 'float64'); "bfloat16" as it is; None where numpy does not know it."""
    import numpy as np

    if dtype == "bfloat16":
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        return None


def _where(error: BaseException) -> str:
    """ " at file:line" where the model's own code raised the error (the last frame outside torch and this module);
    "" where none did (forward called with the wrong inputs)."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if f"{os.sep}torch{os.sep}" not in frame.filename and frame.filename != __file__
    ]
    return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
