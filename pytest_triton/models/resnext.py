"""ResNeXt image classifiers from torchvision's ResNet builder (groups=32, width_per_group=4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pytest_triton.models.checkpoint import load_state_dict
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, seeded_generator

SEED = 0
NUM_CLASSES = 1000


@dataclass(frozen=True)
class ResNeXtVariant:
    blocks: tuple[int, int, int, int]
    image_size: int


VARIANTS = {
    # ResNeXt101-32x4d, as the seeds deploy it.
    "resnext101-32x4d": ResNeXtVariant(blocks=(3, 4, 23, 3), image_size=224),
    # The same architecture with one block per stage on small images: the CPU default.
    "resnext-small": ResNeXtVariant(blocks=(1, 1, 1, 1), image_size=64),
}


def _build(variant: ResNeXtVariant, checkpoint: Path | None, name: str) -> torch.nn.Module:
    from torchvision.models.resnet import Bottleneck, ResNet

    torch.manual_seed(SEED)
    model = ResNet(Bottleneck, list(variant.blocks), num_classes=NUM_CLASSES, groups=32, width_per_group=4)
    if checkpoint is not None:
        load_state_dict(checkpoint, model, name)
    else:
        _calibrate_batch_norm(model, variant.image_size)
    return model.eval()


@torch.no_grad()
def _calibrate_batch_norm(model: torch.nn.Module, image_size: int) -> None:
    """Give random weights realistic BatchNorm statistics, so activations stay in range through 100 layers.

    With default running statistics a randomly initialised deep ResNeXt produces huge logits that would
    overflow fp16 and make parity meaningless.
    """
    generator = torch.Generator().manual_seed(SEED)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average over the calibration batches
    model.train()
    for _ in range(2):
        model(torch.randn(4, 3, image_size, image_size, generator=generator))
    model.eval()


def _samples(variant: ResNeXtVariant, max_batch_size: int) -> list[SampleCase]:
    rng = seeded_generator(SEED)
    cases = []
    for batch in sorted({1, min(4, max_batch_size), max_batch_size}):
        images = rng.standard_normal((batch, 3, variant.image_size, variant.image_size)).astype(np.float32)
        cases.append(SampleCase(batch, f"b{batch}", {"input": images}))
    return cases


def resnext_spec(variant_name: str, checkpoint: Path | None = None, max_batch_size: int = 8) -> ModelSpec:
    """The ResNeXt spec of one variant; random weights from a fixed seed unless a checkpoint is given."""
    variant = VARIANTS[variant_name]
    size = variant.image_size
    return ModelSpec(
        name=variant_name,
        family="resnext",
        build=lambda: _build(variant, checkpoint, variant_name),
        inputs=(TensorSpec("input", "float32", (3, size, size)),),
        outputs=(TensorSpec("logits", "float32", (NUM_CLASSES,)),),
        make_samples=lambda: _samples(variant, max_batch_size),
        max_batch_size=max_batch_size,
        description=f"ResNeXt-32x4d {sum(variant.blocks) * 3 + 2} layers at {size}x{size}",
    )
