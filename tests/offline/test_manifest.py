"""offline.manifest: a bundle is installed only as it was built, every file there, unchanged, nothing added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_triton.errors import BundleError
from pytest_triton.offline.bundle import build_bundle
from pytest_triton.offline.manifest import MANIFEST, check_manifest, write_manifest


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a-1.0-py3-none-any.whl").write_bytes(b"wheel a")
    (tmp_path / "server.tar.xz").write_bytes(b"server")
    write_manifest(tmp_path, {"python": "3.12"})
    return tmp_path


def test_manifest_lists_each_file_with_its_digest_and_size(bundle: Path):
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["python"] == "3.12"
    assert set(manifest["files"]) == {"wheels/a-1.0-py3-none-any.whl", "server.tar.xz"}
    # sha256 of b"server"
    assert manifest["files"]["server.tar.xz"] == {
        "sha256": "b3eacd33433b31b5252351032c9b3e7a2e7aa7738d5decdf0dd6c62680853c06",
        "bytes": 6,
    }
    assert check_manifest(bundle) == manifest


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda root: (root / "server.tar.xz").unlink(), "missing: server.tar.xz"),
        (lambda root: (root / "server.tar.xz").write_bytes(b"servex"), "changed: server.tar.xz"),
        (lambda root: (root / "wheels" / "b.whl").write_bytes(b"b"), "not in the manifest: wheels/b.whl"),
        (lambda root: (root / MANIFEST).write_text("{"), f"no readable {MANIFEST}"),
    ],
    ids=["missing", "same-size-changed", "unlisted", "corrupt-manifest"],
)
def test_a_damaged_bundle_is_refused_naming_the_file(bundle: Path, damage, named: str):
    damage(bundle)
    with pytest.raises(BundleError, match="bundle") as refused:
        check_manifest(bundle)
    assert named in str(refused.value)


def test_a_bundle_is_written_into_a_new_directory_only(tmp_path: Path):
    (tmp_path / "kept.txt").write_text("mine")
    with pytest.raises(BundleError, match="not an empty directory"):
        build_bundle(tmp_path)
    assert (tmp_path / "kept.txt").read_text() == "mine"


def test_a_python_version_is_given_as_three_n(tmp_path: Path):
    with pytest.raises(BundleError, match="give a Python version as 3.N"):
        build_bundle(tmp_path / "bundle", python="python3.12")
