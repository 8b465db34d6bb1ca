"""ImageNet-style validation folders (`root/<class>/<image>`): scanned and checked up front, images read and
preprocessed a batch at a time (a real validation set does not fit in memory preprocessed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pytest_triton.errors import TritonPluginError
from pytest_triton.images.preprocess import preprocess

# torchvision's ImageFolder extensions.
EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# 8-bit modes the reference loader turns into RGB (`convert("RGB")`): ImageNet's validation set has grayscale and
# CMYK JPEGs among its RGB ones. Wider modes (16-bit, 32-bit integer or float) would be clipped, so they are refused.
CONVERTED_MODES = frozenset({"L", "LA", "P", "PA", "CMYK", "RGBA", "RGBX", "YCbCr", "1", "La"})
_SHOWN = 5
_OPTIONS = ("triton_image_folder", "triton_image_classes")


class ImageDataError(TritonPluginError):
    """An evaluation folder or class list the check cannot use; the message names the files and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message, options=_OPTIONS)


@dataclass(frozen=True)
class ImageSet:
    """The images of one evaluation set, each with the index of its class in the model's output order."""

    name: str
    classes: tuple[str, ...]
    paths: tuple[Path, ...] = field(repr=False)
    labels: np.ndarray = field(repr=False)
    converted: int  # images in another 8-bit mode, converted to RGB as they are read

    def __len__(self) -> int:
        return len(self.paths)

    def images(self, indexes: Sequence[int], size: int) -> np.ndarray:
        """float32 [n, 3, size, size]: the images at `indexes`, read and preprocessed."""
        from PIL import Image

        batch = []
        for index in indexes:
            path = self.paths[index]
            try:
                with Image.open(path) as image:
                    batch.append(preprocess(image.convert("RGB"), size))
            except Exception as error:  # PIL raises OSError, SyntaxError, ValueError... for damage past the header
                raise ImageDataError(f"{path}: cannot be read as an image ({error}); remove or replace it") from None
        return np.stack(batch)


def read_class_list(path: Path) -> tuple[str, ...]:
    """Class names in output order, one per line; the first word of each line counts, so ImageNet's
    LOC_synset_mapping.txt (`n01440764 tench, Tinca tinca`) reads as its 1000 folder names."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not part of the first name
    except (OSError, UnicodeDecodeError) as error:
        raise ImageDataError(f"the class list {path}: cannot be read ({error})") from None
    names = tuple(line.split()[0] for line in lines if line.strip())
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if not names or repeated:
        problem = "holds no class names" if not names else f"names {repeated[:_SHOWN]} more than once"
        raise ImageDataError(
            f"the class list {path} {problem}: give one class name per line, in the order of the model's outputs"
        )
    return names


def class_folders(root: Path) -> list[Path]:
    """The class folders of `root`, sorted (hidden ones left out)."""
    if not root.is_dir():
        raise ImageDataError(f"the image folder {root} does not exist or is not a directory")
    try:
        return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    except OSError as error:
        raise ImageDataError(f"the image folder {root}: cannot be listed ({error})") from None


def load_folder(root: Path, classes: Sequence[str] | None = None) -> ImageSet:
    """Scan `root/<class>/**/<image>`: `classes` is the model's output order (None: the folders, sorted, as
    torchvision's ImageFolder numbers them). Every problem the image headers show is reported at once, before
    anything is sent; an image damaged past its header fails when it is read."""
    folders = class_folders(root)
    if not folders:
        raise ImageDataError(
            f"the image folder {root} has no class folders: give an ImageNet-style folder, root/<class>/<image>.jpg"
        )
    order = tuple(classes) if classes is not None else tuple(folder.name for folder in folders)
    index = {name: position for position, name in enumerate(order)}
    unknown = [folder.name for folder in folders if folder.name not in index]
    if unknown:
        raise ImageDataError(
            f"the image folder {root}: {len(unknown)} class folders are not in the class list ({len(order)} names), "
            f"e.g. {unknown[:_SHOWN]}; give the class list the model was trained with (one name per line, in output "
            "order), or remove those folders"
        )
    paths, labels, problems, converted = [], [], [], 0
    for folder in folders:
        for path in _images(folder):
            mode = _mode(path)
            if mode is None:
                problems.append(f"{path}: not an image the loader can read")
            elif mode != "RGB" and mode not in CONVERTED_MODES:
                problems.append(f"{path}: mode {mode}, which does not convert to 8-bit RGB without clipping")
            else:
                converted += mode != "RGB"
                paths.append(path)
                labels.append(index[folder.name])
    if problems:
        raise ImageDataError(
            f"the image folder {root}: {len(problems)} files cannot be evaluated: {'; '.join(problems[:_SHOWN])}"
            f"{' ...' if len(problems) > _SHOWN else ''}; convert them to 8-bit RGB JPEG or PNG, or remove them"
        )
    if not paths:
        raise ImageDataError(
            f"the image folder {root} has class folders but no images ({', '.join(EXTENSIONS)}) in them"
        )
    # Named by the folder itself, also where it is given as "." or with a trailing slash.
    return ImageSet(root.resolve().name, order, tuple(paths), np.array(labels, dtype=np.int64), converted)


def _images(folder: Path) -> list[Path]:
    """Image files anywhere below a class folder, as torchvision's ImageFolder finds them."""
    try:
        return sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    except OSError as error:
        raise ImageDataError(f"the class folder {folder}: cannot be listed ({error})") from None


def _mode(path: Path) -> str | None:
    """The image's mode from its header, or None where it is not an image PIL can open."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.mode
    except Exception:  # not an image, unreadable, or a decompression bomb: each is named as unreadable
        return None
