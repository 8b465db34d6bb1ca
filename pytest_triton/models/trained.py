"""Tiny models trained by a committed recipe (the QA model, the image classifier): the per-machine cache entry each
recipe trains into once, the staging that keeps a half-trained model out of sight, deterministic torch while
training, and the `--out DIR` command line that retrains on request."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import inspect
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from pytest_triton.atomic_write import staged_directory

MODEL_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pytest-triton" / "models"

Train = Callable[[Path], None]
"""Trains into the directory given (it exists and is empty)."""


def recipe_key(recipe: Any, *sources: Any) -> str:
    """Hash of a recipe dataclass, of the source code that shapes the trained model and of the training pieces here:
    names its cache entry, so any change retrains and an unchanged recipe loads at once."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(recipe), sort_keys=True).encode())
    for source in (*sources, deterministic_torch, adamw_warmup_decay):
        digest.update(inspect.getsource(source).encode())
    return digest.hexdigest()[:16]


def cached_model_dir(cache_dir: Path, name: str, train: Train) -> Path:
    """`cache_dir/name`, trained by `train` on first use. Concurrent pytest-xdist workers train once, under a file
    lock, and never see a half-written model."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / name
    if final.is_dir():
        return final
    with FileLock(str(cache_dir / f"{name}.lock")):
        if final.is_dir():  # another worker trained it while we waited
            return final
        for leftover in cache_dir.glob(f".{name}-*"):  # staging of a trainer that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        train_into(final, train)
    return final


def train_into(final: Path, train: Train) -> None:
    """Train into a staging directory renamed to `final` once complete: nobody sees a half-written model, and a
    failed or interrupted training leaves nothing in its place."""
    with staged_directory(final) as staging:
        train(staging)


@contextmanager
def deterministic_torch(threads: int) -> Iterator[None]:
    """A fixed thread count and deterministic kernels while training; the caller's settings are restored after."""
    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])


def adamw_warmup_decay(
    model: torch.nn.Module, learning_rate: float, weight_decay: float, steps: int, warmup_fraction: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW whose rate rises linearly over the first `warmup_fraction` of `steps`, then falls linearly to 0."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay, fused=True)
    warmup = max(1, int(steps * warmup_fraction))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup)))
    )
    return optimizer, schedule


def train_on_request(argv: Sequence[str] | None, what: str, cached: Callable[[], Path], train: Train) -> Path:
    """The recipe's command line: train into `--out DIR` (new or empty), else into the cache; returns the directory."""
    parser = argparse.ArgumentParser(description=f"Train {what} by the committed recipe.")
    parser.add_argument("--out", type=Path, help=f"an empty or new directory (default: a directory in {MODEL_CACHE})")
    out: Path | None = parser.parse_args(argv).out
    if out is None:
        return cached()
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        parser.error(f"--out {out}: it exists and is not an empty directory; give a new or an empty one")
    out.parent.mkdir(parents=True, exist_ok=True)
    train_into(out.resolve(), train)
    return out
