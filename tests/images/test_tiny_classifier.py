"""The tiny image classifier: shipped and pinned, retrained on request, at least 90% top-1 on held-out synthetic
images, and far below that when a deployment swaps channels, transposes the layout or skips the normalisation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pytest_triton.baselines import BaselineKey, BaselineStore
from pytest_triton.errors import TritonPluginError
from pytest_triton.export.fingerprint import weights_digest
from pytest_triton.images import synthetic, tiny_model
from pytest_triton.images.preprocess import MEAN, STD
from pytest_triton.images.tiny_model import WEIGHTS, Recipe, held_out_top1, preprocessed, tiny_classifier_dir
from pytest_triton.models import zoo
from pytest_triton.models.resnext import resnext_spec
from pytest_triton.models.trained import MODEL_CACHE
from pytest_triton.models.zoo import shipped_tiny_classifier, zoo_spec

# weights_digest of the shipped classifier (pytest_triton/models/weights/resnext-small-synthetic), pinned: the
# accuracy baselines carry it, and new weights must come with new baselines.
SHIPPED_WEIGHTS = "e10e7c98e41a7ffd"


@pytest.fixture(scope="module")
def shipped() -> torch.nn.Module:
    return zoo_spec("resnext-small").build()


def test_the_zoo_serves_the_pinned_shipped_weights(shipped):
    """The default run must not depend on where it runs: every machine checks these very weights."""
    assert weights_digest(shipped)[:16] == SHIPPED_WEIGHTS


def test_the_shipped_weights_are_what_the_committed_recipe_made(shipped):
    report = json.loads((shipped_tiny_classifier().parent / tiny_model.TRAINING_REPORT).read_text())
    assert report["recipe"] == json.loads(json.dumps(vars(Recipe())))
    assert report["classes"] == list(synthetic.CLASSES)
    assert report["held_out_top1"] == held_out_top1(shipped) >= 90.0


def test_deployment_mistakes_show_as_a_drop(shipped):
    pixels, labels = synthetic.held_out()
    images = preprocessed(pixels)
    mean, std = torch.from_numpy(MEAN)[:, None, None], torch.from_numpy(STD)[:, None, None]

    def top1(batch: torch.Tensor) -> float:
        with torch.inference_mode():
            return float((shipped(batch).argmax(dim=1).numpy() == labels).mean() * 100)

    assert top1(images) >= 90.0
    mistakes = {
        "BGR for RGB": images[:, [2, 1, 0]],
        "height and width swapped": images.transpose(2, 3),
        "NHWC bytes read as NCHW": images.permute(0, 2, 3, 1).reshape(images.shape),
        "not normalised": images * std + mean,
        "normalised twice": (images - mean) / std,
        "pixels in 0-255": (images * std + mean) * 255,
    }
    dropped = {name: top1(batch) for name, batch in mistakes.items()}
    assert all(value < 60.0 for value in dropped.values()), dropped


def test_recipe_key_follows_every_field():
    changed = [Recipe(**{name: 7}).key() for name in vars(Recipe())]
    assert len({Recipe().key(), *changed}) == len(vars(Recipe())) + 1


def test_the_accuracy_baselines_were_measured_with_the_shipped_weights():
    stored = BaselineStore(Path(__file__).parents[2] / "baselines").load(BaselineKey("accuracy", "accuracy"))
    assert stored is not None
    small = [e for config, m in stored.entries.items() if config.startswith("resnext-small-") for e in m.values()]
    assert len(small) >= 4 and {entry.weights for entry in small} == {SHIPPED_WEIGHTS}


def test_missing_shipped_weights_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(zoo, "TINY_CLASSIFIER", tmp_path / "absent" / "model.pt")
    with pytest.raises(TritonPluginError) as info:
        zoo_spec("resnext-small").build()
    message = str(info.value)
    assert "missing from the installed package" in message and "reinstall pytest-triton" in message
    assert "python -m pytest_triton.images.tiny_model" in message and "resnext-small=DIR/model.pt" in message


def test_retraining_into_a_directory_prints_the_digest_and_the_checkpoint_to_give(tmp_path, monkeypatch, capsys):
    """Training is stood in for by copying the shipped weights: what matters here is where they land and what is
    said."""
    monkeypatch.setattr(
        tiny_model,
        "train",
        lambda recipe, out_dir: shutil.copytree(shipped_tiny_classifier().parent, out_dir, dirs_exist_ok=True),
    )
    out = tmp_path / "new"
    tiny_model.main(["--out", str(out)])
    printed = capsys.readouterr().out
    assert f"weights digest {SHIPPED_WEIGHTS}" in printed
    assert f"--triton-checkpoint=resnext-small={out / WEIGHTS}" in printed


@pytest.mark.slow
def test_the_recipe_retrained_here_reaches_the_target():
    """The committed recipe on this machine (per-machine cache: once); weights may differ from the shipped ones on
    another CPU, the accuracy may not."""
    retrained = resnext_spec("resnext-small", tiny_classifier_dir(MODEL_CACHE) / WEIGHTS).build()
    assert held_out_top1(retrained) >= 90.0
    assert np.isfinite(
        json.loads((tiny_classifier_dir(MODEL_CACHE) / tiny_model.TRAINING_REPORT).read_text())["final_loss"]
    )
