"""What the suites need to know about a model, independent of how it is exported or served."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from pytest_triton.errors import Unsupported

if TYPE_CHECKING:  # specs are declared before numpy or torch is needed (the plugin stays light until used)
    import numpy as np
    import torch


def is_float_dtype(dtype: object) -> bool:
    """numpy's floats, and the bfloat16 that BF16 tensors arrive as (ml_dtypes': numpy calls its kind "V")."""
    import numpy as np

    resolved = np.dtype(dtype)  # type: ignore[call-overload]
    return resolved.kind == "f" or resolved.name == "bfloat16"


def dims_fit(dims: Sequence[int], shape: Sequence[int]) -> bool:
    """Whether `shape` has the rank of `dims` and each of its fixed sizes (-1: any size)."""
    return len(shape) == len(dims) and all(d < 0 or d == s for d, s in zip(dims, shape))


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name as Triton serves it, dtype (numpy name) and per-sample dims (-1: variable)."""

    name: str
    dtype: str
    dims: tuple[int, ...]

    @property
    def is_float(self) -> bool:
        return is_float_dtype(self.dtype)

    def at_precision(self, precision: str) -> "TensorSpec":
        """The same tensor as a model exported in `precision` carries it (floats become float16 in fp16)."""
        if precision == "fp16" and self.is_float:
            return TensorSpec(self.name, "float16", self.dims)
        return self


@dataclass(frozen=True)
class Tolerance:
    """Parity bound of one output: the error statistic `statistic` of |served - reference| / (atol + rtol *
    |reference|) over its elements at most 1, and the mean absolute difference within mean_abs (see checks.parity).
    `statistic`: "max" (every element within its bound), "mean", "median", or a quantile "pNN" such as "p99"."""

    atol: float
    rtol: float
    mean_abs: float
    statistic: str = "max"

    def bound(self, reference_abs: np.ndarray) -> np.ndarray:
        return self.atol + self.rtol * reference_abs


@dataclass(frozen=True)
class SampleCase:
    """One seeded request shape for parity: batch size plus free dims (e.g. BERT's sequence length)."""

    batch_size: int
    label: str
    inputs: Mapping[str, np.ndarray] = field(repr=False, hash=False, compare=False)
    # Per output, a boolean mask of the elements that mean something (False: masked out by the model, such as
    # logits at padded positions); parity holds the others only to being finite. Absent: every element counts.
    compared: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, hash=False, compare=False)

    def row(self, index: int) -> dict[str, np.ndarray]:
        """The inputs of row `index` alone, as a batch of one."""
        return {name: array[index : index + 1] for name, array in self.inputs.items()}

    def rotated(self, start: int, batch_size: int) -> "SampleCase":
        """`batch_size` of this case's rows from row `start` on, wrapping around: one request of a rotation."""
        rows = [(start + k) % self.batch_size for k in range(batch_size)]
        return SampleCase(
            batch_size,
            f"{self.label}-r{start}",
            {name: array[rows] for name, array in self.inputs.items()},
            {name: mask[rows] for name, mask in self.compared.items()},
        )


@dataclass(frozen=True)
class ModelSpec:
    """A model the suites deploy: how to build it, what it takes and gives, and how to make test inputs.

    `build` returns the eager PyTorch module in eval mode whose forward takes the inputs positionally in
    `inputs` order and returns a tuple in `outputs` order; it is also the parity reference. A served model known
    only by its name has no `build` and `from_server` set: the session reads the rest from the server.
    """

    name: str
    family: str
    build: Callable[[], torch.nn.Module] | None = field(repr=False, compare=False, hash=False)
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    make_samples: Callable[[], list[SampleCase]] = field(repr=False, compare=False, hash=False)
    max_batch_size: int = 8
    # Formats this model cannot take, each with the reason a skipped test shows.
    unsupported_formats: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    description: str = ""
    # A Hugging Face directory holding the model's tokenizer, where it has one: QA accuracy needs it.
    # A callable, since the directory may come into being only when first asked for (a trained model).
    tokenizer_dir: Callable[[], Path | None] | None = field(default=None, repr=False, compare=False, hash=False)
    # Parity tolerances of particular outputs: precision -> output -> Tolerance, over the per-precision defaults.
    tolerances: Mapping[str, Mapping[str, Tolerance]] = field(default_factory=dict, compare=False, hash=False)
    # Inputs, outputs, max_batch_size and samples are read from the server when the model is deployed.
    from_server: bool = False
    # FLOPs of one row of a request, from its spec-named input shapes (batch first), where known: for MFU.
    flops_per_row: Callable[[Mapping[str, tuple[int, ...]]], float] | None = field(
        default=None, repr=False, compare=False, hash=False
    )

    def reference_module(self) -> torch.nn.Module:
        """A new eager module from `build`; Unsupported for a served model known only from the server."""
        if self.build is None:
            raise Unsupported(
                f"'{self.name}' has no reference model (its signature came from the server): declare it with a "
                "build function in a pytest_triton_models hook, or compare it with golden outputs",
                options=("triton_golden",),
            )
        return self.build()

    def largest_case(self) -> SampleCase:
        """The sample case with the most elements: the shape exports are traced and profiled with."""
        return max(self.make_samples(), key=lambda c: sum(a.size for a in c.inputs.values()))

    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]


def seeded_generator(seed: int) -> np.random.Generator:
    """The one source of sample randomness, so every run and every worker draws the same inputs."""
    import numpy as np

    return np.random.default_rng(seed)
