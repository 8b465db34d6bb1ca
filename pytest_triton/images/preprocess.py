"""The standard ImageNet evaluation preprocessing (torchvision's reference recipe): resize the shorter side to
size / 0.875, centre-crop `size`, scale to [0, 1], normalise with ImageNet's mean and std, channels first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CROP_FRACTION = 0.875  # 224 of 256


def resize_size(size: int) -> int:
    """The shorter side an image is resized to before its centre `size` x `size` crop (256 for 224)."""
    return round(size / CROP_FRACTION)


def preprocess(image: Image, size: int) -> np.ndarray:
    """One RGB image -> float32 [3, size, size], as the reference evaluation feeds a classifier."""
    from PIL import Image as PILImage

    short = resize_size(size)
    width, height = image.size
    if min(width, height) != short:  # torchvision's Resize(int): the longer side keeps the ratio, truncated
        scale = short / min(width, height)
        width, height = (short, int(height * scale)) if width <= height else (int(width * scale), short)
        image = image.resize((width, height), PILImage.Resampling.BILINEAR)
    return normalize(center_crop(np.asarray(image), size))


def center_crop(pixels: np.ndarray, size: int) -> np.ndarray:
    """The centre `size` x `size` of [..., H, W, C] pixels, offsets rounded as torchvision's CenterCrop does."""
    height, width = pixels.shape[-3:-1]
    top, left = round((height - size) / 2), round((width - size) / 2)
    return pixels[..., top : top + size, left : left + size, :]


def normalize(pixels: np.ndarray) -> np.ndarray:
    """uint8 [..., H, W, 3] -> normalised float32 [..., 3, H, W]."""
    scaled = (pixels.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(np.moveaxis(scaled, -1, -3))
