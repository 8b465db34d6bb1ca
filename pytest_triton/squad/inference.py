"""Run QA features through any backend (in-process torch, Triton) with bounded concurrency, keeping their order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from pytest_triton.ordered_requests import run_in_order
from pytest_triton.squad.features import Feature, model_inputs
from pytest_triton.squad.postprocess import QALogits

if TYPE_CHECKING:
    import torch

Infer = Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]
"""A backend: model inputs [batch, seq] int64 by name -> (start_logits, end_logits), each [batch, seq]."""


def run_features(
    features: Sequence[Feature], infer: Infer, batch_size: int, concurrency: int = 1, progress: bool = False
) -> QALogits:
    """Send features in batches with up to `concurrency` requests in flight; logits come back in feature order."""
    if batch_size < 1 or concurrency < 1:
        raise ValueError(f"batch_size and concurrency must be at least 1, got {batch_size} and {concurrency}")
    batches = [features[i : i + batch_size] for i in range(0, len(features), batch_size)]
    with tqdm(total=len(features), unit="feature", desc="SQuAD inference", disable=not progress) as bar:
        results = run_in_order(
            len(batches),
            lambda index: _checked(infer(model_inputs(batches[index])), batches[index], index),
            concurrency,
            lambda index: bar.update(len(batches[index])),
        )
    if not results:
        empty = np.zeros((0, features[0].input_ids.shape[0] if features else 0), dtype=np.float32)
        return QALogits(start=empty, end=empty)
    return QALogits(start=np.concatenate([s for s, _ in results]), end=np.concatenate([e for _, e in results]))


def _checked(
    result: tuple[np.ndarray, np.ndarray], batch: Sequence[Feature], index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Backends return all sorts of things on misconfiguration; fail with the shapes rather than mis-scoring."""
    expected = (len(batch), batch[0].input_ids.shape[0])
    if not isinstance(result, tuple) or len(result) != 2:
        raise ValueError(f"infer must return (start_logits, end_logits), got {type(result).__name__} for batch {index}")
    start, end = (np.asarray(array) for array in result)
    if start.shape != expected or end.shape != expected:
        raise ValueError(
            f"infer returned logits of shapes {start.shape} and {end.shape} for batch {index}, expected {expected} "
            "([batch, max_seq_length])"
        )
    return start, end


def torch_qa_infer(model: torch.nn.Module, device: str = "cpu") -> Infer:
    """Return an `infer` that runs a torch QA module in eval mode on `device` (HF output or a (start, end) tuple)."""
    import torch

    model.eval().to(device)

    def infer(batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            output = model(**{name: torch.from_numpy(array).to(device) for name, array in batch.items()})
        start, end = (output.start_logits, output.end_logits) if hasattr(output, "start_logits") else output[:2]
        return start.float().cpu().numpy(), end.float().cpu().numpy()

    return infer
