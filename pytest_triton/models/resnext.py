"""ResNeXt image classifiers: ResNeXt101-32x4d from torchvision's ResNet builder, and a narrow one for the CPU."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pytest_triton.models.checkpoint import load_state_dict
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, seeded_generator

SEED = 0


def small_resnext(num_classes: int) -> torch.nn.Module:
    """A 3x3 stem, then three stages of one torchvision bottleneck block each (cardinality 8, 4 channels per group
    in the first stage), named like torchvision's ResNet so its state dicts read the same."""
    from torchvision.models.resnet import Bottleneck

    def stage(inplanes: int, planes: int, stride: int) -> torch.nn.Module:
        downsample = torch.nn.Sequential(
            torch.nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), torch.nn.BatchNorm2d(planes * 4)
        )
        return torch.nn.Sequential(Bottleneck(inplanes, planes, stride, downsample, groups=8, base_width=16))

    return torch.nn.Sequential(
        OrderedDict(
            conv1=torch.nn.Conv2d(3, 32, 3, 2, 1, bias=False),
            bn1=torch.nn.BatchNorm2d(32),
            relu=torch.nn.ReLU(inplace=True),
            layer1=stage(32, 16, 1),
            layer2=stage(64, 32, 2),
            layer3=stage(128, 64, 2),
            avgpool=torch.nn.AdaptiveAvgPool2d(1),
            flatten=torch.nn.Flatten(),
            fc=torch.nn.Linear(256, num_classes),
        )
    )


def resnext101_32x4d(num_classes: int) -> torch.nn.Module:
    """torchvision's ResNet builder with 32 groups of 4 channels: the seeds' ResNeXt101-32x4d."""
    from torchvision.models.resnet import Bottleneck, ResNet

    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes, groups=32, width_per_group=4)


@dataclass(frozen=True)
class ResNeXtVariant:
    architecture: Callable[[int], torch.nn.Module]  # class count -> the module, randomly initialised
    image_size: int
    num_classes: int
    description: str


VARIANTS = {
    # ResNeXt101-32x4d, as the seeds deploy it (torchvision's builder, so its state dicts load).
    "resnext101-32x4d": ResNeXtVariant(resnext101_32x4d, 224, 1000, "ResNeXt101-32x4d at 224x224"),
    # The CPU default: a narrow ResNeXt trained on the synthetic image task (images/tiny_model.py), so that top-1
    # through the server means something.
    "resnext-small": ResNeXtVariant(small_resnext, 32, 16, "ResNeXt-8x4d, 3 bottleneck blocks at 32x32"),
}


def _build(name: str, weights: Path | None) -> torch.nn.Module:
    variant = VARIANTS[name]
    torch.manual_seed(SEED)
    model = variant.architecture(variant.num_classes)
    if weights is not None:
        load_state_dict(weights, model, name)
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


def resnext_spec(
    variant_name: str,
    checkpoint: Path | None = None,
    max_batch_size: int = 8,
    *,
    trained: Callable[[], Path] | None = None,
) -> ModelSpec:
    """The ResNeXt spec of one variant: a checkpoint's weights where given, else the state dict `trained` returns
    (looked up on first use), else random weights from a fixed seed."""
    variant = VARIANTS[variant_name]
    size = variant.image_size
    return ModelSpec(
        name=variant_name,
        family="resnext",
        build=lambda: _build(variant_name, checkpoint if checkpoint is not None or trained is None else trained()),
        inputs=(TensorSpec("input", "float32", (3, size, size)),),
        outputs=(TensorSpec("logits", "float32", (variant.num_classes,)),),
        make_samples=lambda: _samples(variant, max_batch_size),
        max_batch_size=max_batch_size,
        description=variant.description,
    )
