"""What the requests of a measurement carry: the model, their input tensors in rotation, the outputs they ask for,
and how a sample of the answers is checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from pytest_triton.models.spec import TensorSpec, seeded_generator
from pytest_triton.models.synthetic import synthetic_array

# Of every this many rounds through the requests, one round's answers are checked: often enough to catch an answer
# that load corrupts within a window, rarely enough to leave the client's time to the load. The check runs on the
# client's event loop: for large outputs (an encoder's hidden states) what it costs is not measured yet.
CHECK_EVERY = 16

# (index of the request in Workload.requests, its outputs by served name) -> what is wrong with them, or None.
ResponseCheck = Callable[[int, Mapping[str, np.ndarray]], "str | None"]


@dataclass(frozen=True)
class Workload:
    """Requests send `requests` in rotation (batch dimension included when the model batches); `batch_size` is
    how many inferences one request counts for in the throughput."""

    model: str
    requests: tuple[Mapping[str, np.ndarray], ...] = field(repr=False, compare=False, hash=False)
    outputs: tuple[str, ...]
    batch_size: int = 1
    # False for a model without a batch dimension (max_batch_size 0): the arrays are one whole request.
    batched: bool = True
    model_version: str = ""
    # A sequence model's requests go in sequences of this many steps, each under its own correlation ID; 0: none.
    sequence_length: int = 0
    # Checks a sample of the answers given under load (engines that see the responses); None: none are checked.
    check: ResponseCheck | None = field(default=None, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        if not self.requests or not all(self.requests):
            raise ValueError(f"workload for '{self.model}' has a request without inputs")
        names = {tuple(r) for r in self.requests}
        if len(names) > 1:
            raise ValueError(f"workload for '{self.model}': requests name different inputs {sorted(names)}")

    def request(self, index: int) -> Mapping[str, np.ndarray]:
        """The inputs of the `index`-th request sent (0 first), in rotation."""
        return self.requests[index % len(self.requests)]

    def checks(self, index: int) -> bool:
        """Whether the answer to the `index`-th request is checked: one round of the rotation in CHECK_EVERY."""
        return self.check is not None and (index // len(self.requests)) % CHECK_EVERY == 0


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
    """One request of seeded random inputs for `inputs`; `shapes` fixes variable (-1) dims per input, per sample.

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
    return Workload(model, (arrays,), tuple(o.name for o in outputs), batch_size if batched else 1, batched)
