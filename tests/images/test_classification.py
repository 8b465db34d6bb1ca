"""checks.classification without a server: which models it applies to, top-k scoring, which image set a model gets,
and what differing from the in-process model reads like."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pytest_triton.checks import classification
from pytest_triton.checks.accuracy_plan import AccuracyPlan
from pytest_triton.checks.classification import (
    ClassificationResult,
    ClassificationRun,
    classifier_geometry,
    evaluate_classifier,
    require_classifier,
)
from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.images import synthetic
from pytest_triton.images.folder import ImageDataError, load_folder
from pytest_triton.models.spec import ModelSpec, TensorSpec
from pytest_triton.models.zoo import zoo_spec
from pytest_triton.repository.deployment import Deployment


def _spec(inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...]) -> ModelSpec:
    return ModelSpec("m", "custom", None, inputs, outputs, list)


def _plan(folder: Path | None = None, classes: Path | None = None) -> AccuracyPlan:
    return AccuracyPlan(None, None, None, None, image_folder=folder, image_classes=classes)


def test_classifiers_are_told_by_their_signature_in_either_layout():
    first = classifier_geometry(zoo_spec("resnext-small"))
    assert (first.input, first.size, first.channels_first, first.classes) == ("input", 32, True, 16)
    last = classifier_geometry(
        _spec((TensorSpec("image", "float16", (224, 224, 3)),), (TensorSpec("probs", "float32", (1000,)),))
    )
    assert (last.size, last.channels_first, last.classes) == (224, False, 1000)
    assert last.arrange(np.zeros((2, 3, 224, 224), np.float32))["image"].shape == (2, 224, 224, 3)
    with pytest.raises(Unsupported, match="applies to classifiers.*bert-tiny takes"):
        classifier_geometry(zoo_spec("bert-tiny"))
    with pytest.raises(Unsupported):  # variable image size: nothing says what to crop to
        classifier_geometry(_spec((TensorSpec("x", "float32", (3, -1, -1)),), (TensorSpec("y", "float32", (10,)),)))


@pytest.fixture(scope="module")
def held_out_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images") / "set"
    pixels, labels = synthetic.held_out()
    keep = np.concatenate([np.flatnonzero(labels == label)[:2] for label in range(len(synthetic.CLASSES))])
    synthetic.write_folder(folder, pixels[keep], labels[keep])
    return folder


def test_top_k_is_scored_from_the_ranked_scores(held_out_folder):
    images = load_folder(held_out_folder, synthetic.CLASSES)
    geometry = classifier_geometry(zoo_spec("resnext-small"))

    remaining = list(images.labels)  # concurrency 1: the batches arrive in order

    def second_best_is_right(inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Scores that rank each image's true class second: top-1 0%, top-5 100%."""
        rows = np.arange(len(inputs["input"]))
        labels = np.array([remaining.pop(0) for _ in rows])
        scores = np.zeros((len(rows), 16), np.float32)
        scores[rows, labels] = 1.0
        scores[rows, (labels + 1) % 16] = 2.0
        return scores

    result = evaluate_classifier(images, geometry, second_best_is_right, batch_size=5, concurrency=1)
    assert (result.top1, result.top5, result.images) == (0.0, 100.0, 32)
    assert result.ranked.shape == (32, 5) and (result.ranked[:, 1] == images.labels).all()


def test_scores_of_the_wrong_shape_are_named(held_out_folder):
    images = load_folder(held_out_folder, synthetic.CLASSES)
    geometry = classifier_geometry(zoo_spec("resnext-small"))
    with pytest.raises(CheckFailed, match=r"scores of shape \(4, 10\) for 4 images, expected \(4, 16\)"):
        evaluate_classifier(images, geometry, lambda inputs: np.zeros((4, 10)), batch_size=4, concurrency=2)


def test_the_synthetic_set_is_for_models_of_its_16_classes(tmp_path):
    run = ClassificationRun(_plan(), tmp_path, "cpu")
    images = run.image_set(classifier_geometry(zoo_spec("resnext-small")), "resnext-small")
    assert images.name == classification.SYNTHETIC_SET and len(images) == 16 * synthetic.HELD_OUT_PER_CLASS
    assert run.image_set(classifier_geometry(zoo_spec("resnext-small")), "again") is images  # read once
    big = _spec((TensorSpec("input", "float32", (3, 224, 224)),), (TensorSpec("logits", "float32", (1000,)),))
    with pytest.raises(Unsupported, match="gives 1000 class scores and the synthetic image task has 16") as info:
        run.image_set(classifier_geometry(big), "resnext101-32x4d")
    assert info.value.options == ("triton_image_folder", "triton_image_classes")


def test_a_folder_whose_classes_are_not_the_models_says_to_give_the_list(held_out_folder, tmp_path):
    geometry = classifier_geometry(
        _spec((TensorSpec("input", "float32", (3, 32, 32)),), (TensorSpec("logits", "float32", (1000,)),))
    )
    with pytest.raises(ImageDataError, match="gives 1000 class scores but .*set's class folders names 16 classes"):
        ClassificationRun(_plan(held_out_folder), tmp_path, "cpu").image_set(geometry, "m")


def test_an_fp32_label_that_differs_is_named_with_its_file_unless_the_reference_nearly_tied(held_out_folder):
    images = load_folder(held_out_folder, synthetic.CLASSES)
    ranked = np.tile(np.arange(5), (32, 1))
    margins = np.full(32, 0.5)
    margins[5] = 1e-4  # the reference's best two scores nearly equal: TF32 may flip them
    reference = ClassificationResult(10.0, 50.0, ranked, margins, 1.0, 32)
    moved = ranked.copy()
    moved[[3, 5], 0] = 7
    served = ClassificationResult(10.0, 50.0, moved, margins, 1.0, 32)
    (problem,) = classification._against_reference(images, served, reference, "fp32", 1.0)
    assert problem.startswith("set: 1 of 32 labels differ from in-process (1 more at near ties, allowed)")
    assert f"{images.paths[3].parent.name}/{images.paths[3].name}: cyan-vertical, in process blue-checks" in problem
    moved[3, 0] = 0
    assert classification._against_reference(images, served, reference, "fp32", 1.0) == []
    lower = ClassificationResult(8.0, 50.0, moved, margins, 1.0, 32)
    assert classification._against_reference(images, lower, reference, "fp16", 1.0) == [
        "set: top1 -2.00 points from in-process (tolerance 1.0)"
    ]
    assert classification._against_reference(images, lower, reference, "fp16", 2.5) == []


def test_a_classifier_that_does_not_batch_skips_saying_so():
    spec = zoo_spec("resnext-small")
    unbatched = Deployment("plain", spec, "onnx", "fp32", "onnxruntime", spec.inputs, spec.outputs, 0)
    with pytest.raises(Unsupported, match="plain does not batch"):
        require_classifier(unbatched)
    assert require_classifier(replace(unbatched, max_batch_size=8)).classes == 16


def test_the_near_tie_margin_is_relative_to_the_best_score(held_out_folder):
    images = load_folder(held_out_folder, synthetic.CLASSES)
    geometry = classifier_geometry(zoo_spec("resnext-small"))
    scores = np.zeros((32, 16), np.float32)
    scores[:, 0], scores[:, 1] = 1000.0, 999.5  # 0.05% apart: a near tie at this size
    scores[16:, 1] = 990.0
    result = evaluate_classifier(images, geometry, lambda inputs: scores[: len(inputs["input"])], 32, 1)
    assert result.margins[:16] == pytest.approx(0.0005) and result.margins[16:] == pytest.approx(0.01)
