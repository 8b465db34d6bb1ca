"""What one request of a measurement carries: the model, its input tensors and the outputs it asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from pytest_triton.models.spec import TensorSpec, seeded_generator
from pytest_triton.models.synthetic import synthetic_array


@dataclass(frozen=True)
class Workload:
    """Every request of a measurement sends these `inputs` (batch dimension included when the model batches);
    `batch_size` is how many inferences one request counts for in the throughput."""

    model: str
    inputs: Mapping[str, np.ndarray] = field(repr=False, compare=False, hash=False)
    outputs: tuple[str, ...]
    batch_size: int = 1
    # False for a model without a batch dimension (max_batch_size 0): the arrays are one whole request.
    batched: bool = True
    model_version: str = ""

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        if not self.inputs:
            raise ValueError(f"workload for '{self.model}' has no inputs")


def synthetic_workload(
    model: str,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    *,
    batch_size: int = 1,
    batched: bool = True,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    seed: int = 0,
) -> Workload:
    """Seeded random inputs for `inputs`; `shapes` fixes variable (-1) dims per input, per sample.

    Values as models.synthetic draws them; pass real inputs to Workload directly where values change the cost
    (early exits, sparse paths).
    """
    rng = seeded_generator(seed)
    arrays = {}
    for spec in inputs:
        dims = tuple((shapes or {}).get(spec.name, spec.dims))
        if any(d < 0 for d in dims):
            raise ValueError(f"input '{spec.name}' has variable dims {dims}: give its shape in `shapes`")
        shape = ((batch_size,) if batched else ()) + dims
        arrays[spec.name] = synthetic_array(spec.name, spec.dtype, shape, rng)
    return Workload(model, arrays, tuple(o.name for o in outputs), batch_size if batched else 1, batched)
