"""Seeded inputs for a tensor when nothing better is known: what perf workloads send, and the samples of a model
whose signature came from the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def synthetic_array(name: str, dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values in ranges most models accept: floats standard normal, integers in [0, 100) (token ids stay inside
    any vocabulary, class indices mostly too), booleans at random, BYTES as short ASCII words. ValueError names the
    input where its dtype has no sensible values."""
    import numpy as np

    from pytest_triton.models.spec import is_float_dtype

    kind = np.dtype(dtype).kind
    if is_float_dtype(dtype):
        drawn = rng.standard_normal(shape)
        # numpy draws no bfloat16: it is cast from float32.
        return (drawn.astype(np.float32) if kind == "V" else drawn).astype(dtype)
    if kind in "iu":
        return rng.integers(0, 100, size=shape).astype(dtype)
    if kind == "b":
        return rng.random(shape) < 0.5
    if kind == "O":
        words = np.array([f"sample {i}".encode() for i in rng.integers(0, 1000, size=int(np.prod(shape)))])
        return words.astype(object).reshape(shape)
    raise ValueError(f"input '{name}': no synthetic data for dtype {dtype}")
