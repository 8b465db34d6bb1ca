"""A synthetic image classification task the project generates (nothing is downloaded): 16 classes, each a colour
(red, yellow, blue, cyan) painted in a pattern (horizontal or vertical stripes, checks, rings), with random period,
phase, tilt, brightness, background and pixel noise.

Chosen so that the mistakes a deployment makes show as a drop in top-1: swapping red and blue channels maps every
colour to another class (red <-> blue, yellow <-> cyan), transposing height and width swaps the stripes, and skipping
or doubling the normalisation moves every pixel out of the range the classifier learnt.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from pathlib import Path

import numpy as np

from pytest_triton.atomic_write import staged_directory
from pytest_triton.images.preprocess import resize_size

COLOURS = {"blue": (0.1, 0.15, 1.0), "cyan": (0.1, 0.9, 0.95), "red": (1.0, 0.1, 0.1), "yellow": (0.95, 0.85, 0.1)}
PATTERNS = ("checks", "horizontal", "rings", "vertical")
CLASSES = tuple(f"{colour}-{pattern}" for colour in COLOURS for pattern in PATTERNS)
"""Class names in the classifier's output order (sorted, as folder names are)."""
INPUT_SIZE = 32
"""The classifier input the task is made for; images are drawn at its resize size, so preprocessing only crops."""
HELD_OUT_SEED = 7  # never a training seed
HELD_OUT_PER_CLASS = 32


def render(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 RGB images [n, size, size, 3] of the classes `labels`."""
    count = len(labels)
    colour = np.array(list(COLOURS.values()), dtype=np.float32)[labels // len(PATTERNS)]
    pattern = labels % len(PATTERNS)
    period = rng.uniform(size / 9, size / 4, (count, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (count, 1, 1)).astype(np.float32)
    tilt = rng.uniform(-0.3, 0.3, (count, 1, 1)).astype(np.float32)
    centre = rng.uniform(size / 4, 3 * size / 4, (count, 2, 1, 1)).astype(np.float32)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    wave = np.empty((count, size, size), dtype=np.float32)
    for index, name in enumerate(PATTERNS):  # each image's own pattern only: sines are most of the cost
        rows = pattern == index
        turn = 2 * np.pi / period[rows]
        along = turn * (x * np.cos(tilt[rows]) - y * np.sin(tilt[rows])) + phase[rows]
        across = turn * (x * np.sin(tilt[rows]) + y * np.cos(tilt[rows])) + phase[rows]
        if name == "checks":
            wave[rows] = np.sin(along) * np.sin(across)
        elif name == "horizontal":
            wave[rows] = np.sin(across)
        elif name == "vertical":
            wave[rows] = np.sin(along)
        else:
            wave[rows] = np.sin(turn * np.hypot(x - centre[rows, 0], y - centre[rows, 1]) + phase[rows])
    foreground = colour * rng.uniform(0.6, 1.0, (count, 1)) + rng.normal(0, 0.08, (count, 3))
    background = rng.uniform(0.0, 0.5, (count, 1)) + rng.normal(0, 0.05, (count, 3))
    pixels = np.where((wave > 0)[..., None], foreground[:, None, None], background[:, None, None])
    pixels = pixels + rng.normal(0, 0.25, pixels.shape).astype(np.float32)
    return np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)


def generate(seed: int, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` images with uniformly drawn classes: (uint8 [n, size, size, 3], int64 labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), count)
    return render(labels, size, rng), labels


def held_out() -> tuple[np.ndarray, np.ndarray]:
    """The held-out images the suites evaluate: HELD_OUT_PER_CLASS of every class, (uint8 images, labels)."""
    labels = np.repeat(np.arange(len(CLASSES)), HELD_OUT_PER_CLASS)
    return render(labels, resize_size(INPUT_SIZE), np.random.default_rng(HELD_OUT_SEED)), labels


def write_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """An ImageNet-style folder (`class/NNNNN.png`, lossless), written into a staging directory beside `root` and
    renamed into place, so nobody reads a half-written set."""
    from PIL import Image

    root.parent.mkdir(parents=True, exist_ok=True)
    with staged_directory(root) as staging:  # another worker may write the same set at once: one is kept
        for index, (image, label) in enumerate(zip(images, labels)):
            folder = staging / CLASSES[label]
            folder.mkdir(exist_ok=True)
            Image.fromarray(image).save(folder / f"{index:05d}.png")


def generator_digest() -> str:
    """Hash of this module's code and of the resize size it draws at: names written sets, so a changed generator
    never reuses an old one."""
    sources = inspect.getsource(sys.modules[__name__]) + inspect.getsource(resize_size)
    return hashlib.sha256(sources.encode()).hexdigest()[:12]
