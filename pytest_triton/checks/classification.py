"""Image classification accuracy through Triton: top-1 and top-5 of a served classifier, against the same model
in process and the stored baselines.

Against the in-process eager fp32 model on the same preprocessed images:

    fp32: every predicted label identical
    fp16, bf16: top-1 and top-5 each within AccuracyPlan.fp16_points (1.0 by default)

Reported, not gated: top-1 agreement (images whose predicted label is the reference's) and top-5 agreement (images
whose five best classes are the reference's, in any order). The embedded default evaluates held-out synthetic images
written under the cache directory; AccuracyPlan.image_folder evaluates an ImageNet-style folder instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.entry import BaselineEntry
from pytest_triton.baselines.verdict import Verdict
from pytest_triton.checks.accuracy_baselines import JudgedAccuracy, accuracy_entries, judged, points_apart
from pytest_triton.checks.accuracy_plan import AccuracyPlan
from pytest_triton.checks.payload import own_answer, reference_outputs
from pytest_triton.errors import CheckFailed, Unsupported
from pytest_triton.images import synthetic
from pytest_triton.images.folder import ImageDataError, ImageSet, class_folders, load_folder, read_class_list
from pytest_triton.kinds import baseline_id
from pytest_triton.models.spec import ModelSpec
from pytest_triton.ordered_requests import run_in_order
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient

if TYPE_CHECKING:
    import torch

TOP_K = 5
# An fp32 label may differ from in-process only where the reference's best two scores are this close (relative):
# TF32 convolutions on a GPU (cuDNN's and TensorRT's default) move fp32 scores by about 1e-3, and flip near ties.
NEAR_TIE = 1e-3
SYNTHETIC_SET = "synthetic-images"

Scores = Callable[[dict[str, np.ndarray]], np.ndarray]
"""A backend: the model's inputs by spec name -> class scores [n, C]."""


@dataclass(frozen=True)
class Geometry:
    """Where a classifier takes its image: the input's name, size and whether channels come first."""

    input: str
    size: int
    channels_first: bool
    classes: int

    def arrange(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Preprocessed [n, 3, size, size] images as this model's input."""
        return {self.input: images if self.channels_first else np.ascontiguousarray(np.moveaxis(images, 1, -1))}


def require_classifier(deployment: Deployment) -> Geometry:
    """The served classifier's geometry; Unsupported for other models and for classifiers that take no batches."""
    geometry = classifier_geometry(deployment.spec)
    if deployment.max_batch_size < 1:
        raise Unsupported(f"image top-1 sends batches of images; {deployment.model_name} does not batch")
    return geometry


def classifier_geometry(spec: ModelSpec) -> Geometry:
    """The image input and class count of a classifier: one float image input, [3, H, W] or [H, W, 3] with H = W,
    and class scores [C] as the first output; Unsupported for any other model."""
    image = spec.inputs[0].dims if len(spec.inputs) == 1 and spec.inputs[0].is_float else ()
    scores = spec.outputs[0].dims if spec.outputs else ()
    square = len(image) == 3 and (
        image[0] == 3 and image[1] == image[2] > 0 or image[2] == 3 and image[0] == image[1] > 0
    )
    if not square or len(scores) != 1 or scores[0] < 2:
        raise Unsupported(
            f"image top-1 applies to classifiers (one square image input [3, H, W] or [H, W, 3] and class scores "
            f"[C] out); {spec.name} takes {[t.dims for t in spec.inputs]} and gives {[t.dims for t in spec.outputs]}"
        )
    channels_first = image[0] == 3 and image[1] == image[2]
    return Geometry(spec.inputs[0].name, image[1] if channels_first else image[0], channels_first, scores[0])


@dataclass(frozen=True)
class ClassificationResult:
    """Top-k of one backend on one image set: figures in %, each image's TOP_K best classes (best first), and the
    margin of its best score over its second, relative to the best's size (what tells a near tie)."""

    top1: float
    top5: float
    ranked: np.ndarray = field(repr=False)
    margins: np.ndarray = field(repr=False)
    seconds: float
    images: int

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    def entries(self, weights: str | None) -> dict[str, BaselineEntry]:
        return accuracy_entries({"top1": self.top1, "top5": self.top5}, weights)


def evaluate_classifier(
    images: ImageSet, geometry: Geometry, scores: Scores, batch_size: int, concurrency: int
) -> ClassificationResult:
    """Every image through `scores` in batches, up to `concurrency` in flight, ranked and scored."""
    batches = [range(start, min(start + batch_size, len(images))) for start in range(0, len(images), batch_size)]
    began = time.perf_counter()

    def rank(index: int) -> tuple[np.ndarray, np.ndarray]:
        answer = np.asarray(scores(geometry.arrange(images.images(batches[index], geometry.size))), dtype=np.float32)
        if answer.shape != (len(batches[index]), geometry.classes):
            raise CheckFailed(
                f"the classifier answered scores of shape {answer.shape} for {len(batches[index])} images, expected "
                f"{(len(batches[index]), geometry.classes)}"
            )
        ranked = np.argsort(-answer, axis=1, kind="stable")[:, :TOP_K]
        best, second = np.take_along_axis(answer, ranked[:, :2], axis=1).T
        return ranked, (best - second) / np.maximum(np.abs(best), 1.0)

    answers = run_in_order(len(batches), rank, concurrency)
    seconds = time.perf_counter() - began
    ranked = np.concatenate([r for r, _ in answers])
    hits = ranked == images.labels[:, None]
    return ClassificationResult(
        float(hits[:, 0].mean() * 100),
        float(hits.any(axis=1).mean() * 100),
        ranked,
        np.concatenate([m for _, m in answers]),
        seconds,
        len(images),
    )


@dataclass
class ClassificationRun:
    """The image set and in-process reference results of one run, each made once per model."""

    plan: AccuracyPlan
    data_dir: Path
    device: str
    _references: dict[str, ClassificationResult] = field(default_factory=dict, repr=False)
    _sets: dict[Path, ImageSet] = field(default_factory=dict, repr=False)

    def image_set(self, geometry: Geometry, model: str) -> ImageSet:
        """The folder given, else the held-out synthetic images; ImageDataError or Unsupported where the model's
        classes cannot be those of the set."""
        if self.plan.image_folder is None:
            if self.plan.image_classes is not None:
                raise ImageDataError(f"the class list {self.plan.image_classes} is given without an image folder")
            if geometry.classes != len(synthetic.CLASSES):
                raise Unsupported(
                    f"{model} gives {geometry.classes} class scores and the synthetic image task has "
                    f"{len(synthetic.CLASSES)} classes: evaluate it on an ImageNet-style folder",
                    options=("triton_image_folder", "triton_image_classes"),
                )
            return self._synthetic_set()
        if self.plan.image_classes is not None:
            classes: tuple[str, ...] | None = read_class_list(self.plan.image_classes)
            source = f"the class list {self.plan.image_classes}"
        else:
            classes, source = None, f"{self.plan.image_folder}'s class folders"
        # Counted before the folder is scanned: a real validation set has 50,000 images to open.
        count = len(classes) if classes is not None else len(class_folders(self.plan.image_folder))
        if count != geometry.classes:
            raise ImageDataError(
                f"{model} gives {geometry.classes} class scores but {source} names {count} classes: give the list of "
                f"the model's {geometry.classes} classes in output order"
            )
        return self._cached(self.plan.image_folder, classes)

    def reference(self, spec: ModelSpec, module: torch.nn.Module, images: ImageSet) -> ClassificationResult:
        """The eager model's top-k on `images`, once per model."""
        if spec.name not in self._references:

            def infer(inputs: dict[str, np.ndarray]) -> np.ndarray:
                return reference_outputs(module, spec, inputs, self.device)[spec.outputs[0].name]

            self._references[spec.name] = evaluate_classifier(
                images, classifier_geometry(spec), infer, self.plan.batch_size, self.plan.concurrency
            )
        return self._references[spec.name]

    def _cached(self, folder: Path, classes: tuple[str, ...] | None, name: str | None = None) -> ImageSet:
        if folder not in self._sets:
            images = load_folder(folder, classes)
            self._sets[folder] = replace(images, name=name) if name else images
        return self._sets[folder]

    def _synthetic_set(self) -> ImageSet:
        # Written once per content: the folder is named by what decides it, so a changed generator never reuses it.
        folder = self.data_dir / f"{SYNTHETIC_SET}-{synthetic.generator_digest()}"
        if not folder.is_dir():
            synthetic.write_folder(folder, *synthetic.held_out())
        return self._cached(folder, synthetic.CLASSES, SYNTHETIC_SET)


@dataclass(frozen=True)
class ServedClassification(JudgedAccuracy):
    """A served classifier's top-1/top-5 on the run's image set, against the in-process model (where there is one)
    and the stored baselines."""

    images: ImageSet
    served: ClassificationResult
    reference: ClassificationResult | None
    baseline: ClassificationResult | None = None  # the baseline deployment's on the same images, where there is one

    def agreement(self) -> dict[str, float]:
        """% of images whose top-1 label, and whose set of TOP_K best classes, are the reference's."""
        if self.reference is None:
            return {}
        served, reference = self.served.ranked, self.reference.ranked
        same_sets = (np.sort(served, axis=1) == np.sort(reference, axis=1)).all(axis=1)
        return {
            "top1_agreement": float((served[:, 0] == reference[:, 0]).mean() * 100),
            "top5_agreement": float(same_sets.mean() * 100),
        }


def served_classification(
    run: ClassificationRun,
    client: TritonClient,
    deployment: Deployment,
    module: torch.nn.Module | None,
    weights: str | None,
    baselines: BaselineContext,
    baseline: tuple[TritonClient, Deployment] | None = None,
) -> ServedClassification:
    """Evaluate `deployment` on the run's image set: fp32 must predict the labels `module` (the eager fp32 model with
    the weights digest `weights`; None for a served model nobody here has) predicts, lower precisions stay within
    the plan's points; top-1/top-5 are judged against their baselines, unless this run updates them. With
    `baseline` (the same model in a baseline deployment, and a client of its server), that is evaluated on the same
    images, and top-1/top-5 must stay within the plan's points of its."""
    geometry = require_classifier(deployment)
    images = run.image_set(geometry, deployment.model_name)
    served = _evaluated(run, images, geometry, client, deployment)
    reference = run.reference(deployment.spec, module, images) if module is not None else None
    problems = _against_reference(images, served, reference, deployment.precision, run.plan.fp16_points)
    theirs = _evaluated(run, images, geometry, *baseline) if baseline is not None else None
    if theirs is not None:
        metrics = ("top1", "top5")
        problems += points_apart(images.name, served, theirs, metrics, run.plan.fp16_points, "the baseline deployment")
    entries = {baseline_id(deployment.model_name, images.name): served.entries(weights)}
    comparisons = judged(entries, baselines)
    if reference is None and not baselines.update and all(c.verdict is Verdict.MISSING for c in comparisons):
        raise CheckFailed(
            f"{deployment.model_name}: top-1 {served.top1:.2f}% on {images.name}, compared with nothing: there is no "
            "in-process model and no stored baseline; record one first",
            options=("update_baselines",),
        )
    problems += [c.message for c in comparisons if c.failed]
    return ServedClassification(entries, comparisons, problems, images, served, reference, theirs)


def _evaluated(
    run: ClassificationRun, images: ImageSet, geometry: Geometry, client: TritonClient, deployment: Deployment
) -> ClassificationResult:
    scores = deployment.spec.outputs[0].name
    return evaluate_classifier(
        images,
        geometry,
        lambda inputs: own_answer(client, deployment, inputs, "a batch of images")[scores],
        min(run.plan.batch_size, deployment.max_batch_size),
        run.plan.concurrency,
    )


def _against_reference(
    images: ImageSet,
    served: ClassificationResult,
    reference: ClassificationResult | None,
    precision: str,
    points: float,
) -> list[str]:
    if reference is None:
        return []
    if precision == "fp32":
        differing = np.flatnonzero(served.ranked[:, 0] != reference.ranked[:, 0])
        wrong = differing[reference.margins[differing] > NEAR_TIE]
        if not len(wrong):
            return []
        shown = [
            f"{images.paths[i].parent.name}/{images.paths[i].name}: {images.classes[served.ranked[i, 0]]}, in process "
            f"{images.classes[reference.ranked[i, 0]]}"
            for i in wrong[:3]
        ]
        ties = f" ({len(differing) - len(wrong)} more at near ties, allowed)" if len(wrong) < len(differing) else ""
        return [f"{images.name}: {len(wrong)} of {len(images)} labels differ from in-process{ties}, e.g. {shown}"]
    return points_apart(images.name, served, reference, ("top1", "top5"), points)
