"""The tiny image classifier (`resnext-small`), trained from scratch on the synthetic image task by a committed
recipe: one pass over 7680 fresh images, preprocessed as the evaluation preprocesses them, in 120 deterministic
single-thread CPU steps (about 47 s on an idle 2-core machine, 5 of them making the data; 98.6% top-1 held out). As
with the tiny QA model, training is deterministic on one CPU but not across CPUs, so the weights this recipe made
once ship in the package (models/zoo.py). Retrain:

    python -m pytest_triton.images.tiny_model            # into the per-machine cache; prints the directory
    python -m pytest_triton.images.tiny_model --out DIR  # into DIR (how the shipped weights are refreshed)
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from pytest_triton.images import preprocess, synthetic
from pytest_triton.images.preprocess import center_crop, normalize, resize_size
from pytest_triton.models import resnext
from pytest_triton.models.trained import (
    MODEL_CACHE,
    adamw_warmup_decay,
    cached_model_dir,
    deterministic_torch,
    recipe_key,
    train_on_request,
)

WEIGHTS = "model.pt"
TRAINING_REPORT = "training_report.json"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights; its hash names the cache entry."""

    data_seed: int = 0
    steps: int = 120
    batch_size: int = 64
    learning_rate: float = 3e-3
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    torch_seed: int = 1234
    threads: int = 1  # see squad/tiny_model.py: a second thread spin-waits on a shared machine

    def key(self) -> str:
        """Hash of the recipe and of the code that makes the data and the model."""
        return recipe_key(self, synthetic, preprocess, resnext.small_resnext, train, preprocessed)


def tiny_classifier_dir(cache_dir: Path, recipe: Recipe = Recipe()) -> Path:
    """A directory holding the trained state dict (WEIGHTS) and its training report, trained on first use."""
    return cached_model_dir(cache_dir, f"tiny-resnext-synthetic-{recipe.key()}", lambda out: train(recipe, out))


def preprocessed(pixels: np.ndarray) -> torch.Tensor:
    """Synthetic images drawn at the resize size -> the model's input, by the evaluation's own crop and normalise."""
    return torch.from_numpy(normalize(center_crop(pixels, synthetic.INPUT_SIZE)))


def train(recipe: Recipe, out_dir: Path) -> None:
    """Train by `recipe`; save the state dict and a report with held-out top-1 into out_dir."""
    started = time.perf_counter()
    pixels, labels = synthetic.generate(
        recipe.data_seed, recipe.steps * recipe.batch_size, resize_size(synthetic.INPUT_SIZE)
    )
    images, targets = preprocessed(pixels), torch.from_numpy(labels)
    prepared = time.perf_counter()
    with deterministic_torch(recipe.threads):
        torch.manual_seed(recipe.torch_seed)
        model = resnext.small_resnext(len(synthetic.CLASSES))
        optimizer, schedule = adamw_warmup_decay(
            model, recipe.learning_rate, recipe.weight_decay, recipe.steps, recipe.warmup_fraction
        )
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(recipe.torch_seed))
        losses = []
        model.train()
        for batch in order.split(recipe.batch_size):  # one pass: every step sees fresh images
            loss = torch.nn.functional.cross_entropy(model(images[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        model.eval()
    trained = time.perf_counter()
    torch.save(model.state_dict(), out_dir / WEIGHTS)
    report = {
        "recipe": asdict(recipe),
        "classes": list(synthetic.CLASSES),
        "final_loss": float(np.mean(losses[-10:])),
        "held_out_top1": held_out_top1(model),
        "prepare_seconds": round(prepared - started, 2),
        "train_seconds": round(trained - started, 2),
    }
    (out_dir / TRAINING_REPORT).write_text(json.dumps(report, indent=2), encoding="utf-8")


@torch.inference_mode()
def held_out_top1(model: torch.nn.Module) -> float:
    """Top-1 (%) in process on the held-out images the suites evaluate (drawn the same way, not read from files)."""
    pixels, labels = synthetic.held_out()
    predicted = model(preprocessed(pixels)).argmax(dim=1).numpy()
    return float(np.mean(predicted == labels) * 100)


def main(argv: Sequence[str] | None = None) -> None:
    out = train_on_request(
        argv, "the tiny image classifier", lambda: tiny_classifier_dir(MODEL_CACHE), lambda o: train(Recipe(), o)
    )
    from pytest_triton.export.fingerprint import WEIGHTS_DIGITS, weights_digest
    from pytest_triton.models.resnext import resnext_spec

    # The digest accuracy baselines record (their "weights"), so a retrained model can be told from the shipped one.
    digest = weights_digest(resnext_spec("resnext-small", out / WEIGHTS).reference_module())[:WEIGHTS_DIGITS]
    print(f"{out}\nweights digest {digest}\nuse it with --triton-checkpoint=resnext-small={out / WEIGHTS}")


if __name__ == "__main__":
    main()
