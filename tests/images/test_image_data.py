"""images: the synthetic task, the standard preprocessing (against torchvision's own transforms) and ImageNet-style
folders, with every bad input a user can give."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytest_triton.images import synthetic
from pytest_triton.images.folder import ImageDataError, load_folder, read_class_list
from pytest_triton.images.preprocess import preprocess, resize_size


def test_the_task_is_seeded_balanced_where_held_out_and_named_in_folder_order():
    first, labels = synthetic.generate(3, 64, 37)
    again, same = synthetic.generate(3, 64, 37)
    assert first.shape == (64, 37, 37, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(labels, same)
    assert not np.array_equal(first, synthetic.generate(4, 64, 37)[0])
    images, held_out = synthetic.held_out()
    assert images.shape[1:3] == (resize_size(synthetic.INPUT_SIZE),) * 2
    assert np.bincount(held_out).tolist() == [synthetic.HELD_OUT_PER_CLASS] * len(synthetic.CLASSES)
    assert list(synthetic.CLASSES) == sorted(synthetic.CLASSES) and len(synthetic.CLASSES) == 16


def test_a_swap_of_red_and_blue_makes_every_colour_another_class():
    colours = list(synthetic.COLOURS.values())
    swapped = [tuple(reversed(colour)) for colour in colours]
    nearest = [min(range(len(colours)), key=lambda k: np.abs(np.subtract(colours[k], c)).sum()) for c in swapped]
    assert all(index != own for own, index in enumerate(nearest))


@pytest.mark.parametrize("width,height", [(400, 300), (300, 400), (37, 37), (20, 50)])
def test_preprocessing_is_torchvisions_reference_evaluation(width, height):
    from torchvision import transforms

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    reference = transforms.Compose(
        [
            transforms.Resize(resize_size(32)),
            transforms.CenterCrop(32),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )(image).numpy()
    ours = preprocess(image, 32)
    assert ours.shape == (3, 32, 32) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def _folder(root: Path, counts: dict[str, int], mode: str = "RGB", suffix: str = ".png") -> Path:
    rng = np.random.default_rng(1)
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).convert(mode).save(
                root / name / f"{index}{suffix}"
            )
    return root


def test_a_folder_reads_in_the_order_of_the_class_list_and_converts_8_bit_modes(tmp_path):
    root = _folder(tmp_path / "val", {"b": 2, "a": 1})
    _folder(root, {"a": 1}, mode="L", suffix=".jpg")  # grayscale JPEGs are among ImageNet's validation images
    (root / "a" / "notes.txt").write_text("not an image, and not an image file name either")
    images = load_folder(root, ["b", "a", "c"])
    assert images.classes == ("b", "a", "c") and images.name == "val"
    assert sorted(images.labels.tolist()) == [0, 0, 1, 1] and images.converted == 1 and len(images) == 4
    batch = images.images(range(4), 32)
    assert batch.shape == (4, 3, 32, 32) and batch.dtype == np.float32
    assert load_folder(root).classes == ("a", "b")  # no list: folders sorted, as torchvision's ImageFolder
    _folder(root / "b" / "nested", {"deeper": 1})  # images below a class folder's subfolders count, as there
    assert len(load_folder(root)) == 5 and load_folder(root / "b" / "..").name == "val"


def test_imagenets_synset_mapping_reads_as_the_folder_names(tmp_path):
    mapping = tmp_path / "LOC_synset_mapping.txt"
    mapping.write_text("\ufeffn01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n\n")  # with a BOM
    assert read_class_list(mapping) == ("n01440764", "n01443537")


@pytest.mark.parametrize(
    "text,message",
    [("\n\n", "holds no class names"), ("cat\ndog\ncat\n", "names ['cat'] more than once")],
)
def test_a_bad_class_list_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "classes.txt"
    path.write_text(text)
    with pytest.raises(ImageDataError, match=re.escape(message)) as info:
        read_class_list(path)
    assert "one class name per line" in str(info.value)
    assert info.value.options == ("triton_image_folder", "triton_image_classes")


def test_an_empty_folder_and_a_folder_without_images_are_named(tmp_path):
    with pytest.raises(ImageDataError, match="has no class folders.*root/<class>/<image>.jpg"):
        load_folder(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "readme.txt").write_text("x")
    with pytest.raises(ImageDataError, match="has class folders but no images"):
        load_folder(tmp_path)
    with pytest.raises(ImageDataError, match="does not exist"):
        load_folder(tmp_path / "absent")


def test_class_folders_the_model_does_not_know_are_named(tmp_path):
    root = _folder(tmp_path, {"cat": 1, "dog": 1, "zebra": 1})
    with pytest.raises(
        ImageDataError, match=r"2 class folders are not in the class list \(1 names\).*\['dog', 'zebra'\]"
    ):
        load_folder(root, ["cat"])


def test_unreadable_and_16_bit_images_are_all_named_before_anything_is_sent(tmp_path):
    root = _folder(tmp_path, {"cat": 2})
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    Image.fromarray(np.zeros((8, 8), dtype=np.uint16)).save(root / "cat" / "depth.png")
    with pytest.raises(ImageDataError) as info:
        load_folder(root)
    message = str(info.value)
    assert "2 files cannot be evaluated" in message
    assert "broken.jpg: not an image the loader can read" in message
    assert "depth.png: mode I;16" in message and "convert them to 8-bit RGB" in message


def test_an_image_truncated_past_its_header_is_named_when_read(tmp_path):
    root = _folder(tmp_path, {"cat": 1}, suffix=".jpg")
    path = root / "cat" / "0.jpg"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    images = load_folder(root)  # the header is whole: the scan cannot tell
    with pytest.raises(ImageDataError, match="0.jpg: cannot be read as an image"):
        images.images([0], 32)


def test_a_written_held_out_set_reads_back_exactly(tmp_path):
    pixels, labels = synthetic.generate(5, 20, 37)
    synthetic.write_folder(tmp_path / "set", pixels, labels)
    images = load_folder(tmp_path / "set", synthetic.CLASSES)
    assert sorted(images.labels.tolist()) == sorted(labels.tolist()) and images.converted == 0
    first = images.paths[0]
    index = int(first.stem)
    np.testing.assert_array_equal(np.asarray(Image.open(first)), pixels[index])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
