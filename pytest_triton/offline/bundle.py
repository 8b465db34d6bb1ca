"""Builds the bundle a GPU machine without Triton and without a package index needs (`./dev bundle DIR`).

What it holds: the tritonserver of the nvidia-pytriton wheel in the wheel's own layout, trimmed to the binary, the
python backend, the stub of the target Python and the libraries those load (`server.tar.xz`); wheels of tritonclient
and of what it and the project need that such a machine lacks, numpy below 2 among them (the wheel's python stub
returns wrong shapes under numpy 2, seen on an H200 machine); the project as a wheel. Versions are those installed
here, where the project's tests ran with them.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import re
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import BundleError, ServerStartError
from pytest_triton.offline.commands import run_command
from pytest_triton.offline.manifest import write_manifest
from pytest_triton.offline.places import require_empty
from pytest_triton.server.bundled import WheelServer, wheel_server

SIZE_LIMIT = 56 * 2**20
SERVER_ARCHIVE = "server.tar.xz"
WHEELS = "wheels"
# What a GPU machine with torch, onnxruntime, transformers, grpcio, protobuf and aiohttp lacks to run the suites:
# tritonclient's HTTP stack, the schema checker, the Docker launch mode's client, pytest with xdist, numpy below 2.
# Too big to fit: matplotlib (about 20 MiB with what it needs), which the installer names where the machine lacks it,
# and onnx (16 MiB), without which the run leaves the ONNX-based formats out.
CARRIED = (
    "tritonclient", "geventhttpclient", "gevent", "greenlet", "zope.event", "zope.interface", "python-rapidjson",
    "brotli", "jsonschema", "jsonschema-specifications", "referencing", "rpds-py", "testcontainers", "docker",
    "python-dotenv", "numpy", "pytest", "pluggy", "iniconfig", "pygments", "packaging", "pytest-xdist", "execnet",
    "filelock", "tqdm",
)  # fmt: skip
# Installed for the server's python stub alone (offline/install.py): the machine's other packages may need numpy 2.
STUB_ONLY = ("numpy",)
# The manylinux tags a wheel for x86-64 Linux may carry; pip matches each exactly.
_PLATFORMS = ("manylinux1", "manylinux2014", *(f"manylinux_2_{n}" for n in (5, 12, 17, 24, 27, 28)))
_REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Bundle:
    root: Path
    files: int
    bytes: int


def _wheel() -> WheelServer:
    try:
        return wheel_server()
    except ServerStartError:
        raise BundleError(
            "the nvidia-pytriton wheel is not installed here: run ./dev tests once, then bundle"
        ) from None


def _loaded_libraries(executables: list[Path], libraries: Path) -> set[Path]:
    """The wheel's libraries that the executables load, directly or through each other (ldd follows the chain)."""
    found = set()
    for executable in executables:
        for line in run_command(["ldd", str(executable)], f"ldd {executable}").splitlines():
            match = re.search(r"=>\s*(\S+)", line)
            if match and Path(match.group(1)).resolve().parent == libraries.resolve():
                found.add(libraries / Path(match.group(1)).name)
    return found


def _server_archive(dest: Path, python: str) -> None:
    wheel = _wheel()
    stub = wheel.stub(python)
    if not stub.is_file():
        raise BundleError(f"the nvidia-pytriton wheel has no python backend stub for Python {python}")
    backend = sorted(p for p in wheel.backend.iterdir() if p.is_file())
    binary = wheel.binary
    executables = [binary, stub, *(p for p in backend if p.suffix == ".so")]
    libraries = _loaded_libraries(executables, wheel.libraries)
    with tarfile.open(dest, "w:xz") as archive:
        for path in sorted({binary, stub, *backend, *libraries}):
            archive.add(path, arcname=path.relative_to(wheel.site).as_posix())


def _server_platform() -> dict[str, object]:
    """The processor and the oldest glibc the server runs on, from the nvidia-pytriton wheel's tag."""
    wheel = importlib.metadata.distribution("nvidia-pytriton").read_text("WHEEL") or ""
    tag = re.search(r"manylinux_(\d+)_(\d+)_(\w+)", wheel)
    if tag is None:
        raise BundleError(f"the nvidia-pytriton wheel's tag names no manylinux platform: {wheel!r}")
    return {"machine": tag.group(3), "glibc": [int(tag.group(1)), int(tag.group(2))]}


def _carried_versions() -> dict[str, str]:
    try:
        versions = {name: importlib.metadata.version(name) for name in CARRIED}
    except importlib.metadata.PackageNotFoundError as error:
        raise BundleError(f"{error.name} is not installed here: run ./dev tests once, then bundle") from None
    if not versions["numpy"].startswith("1."):
        raise BundleError(f"numpy {versions['numpy']} is installed here; the python stub needs numpy below 2")
    return versions


def _download_wheels(dest: Path, python: str, versions: dict[str, str]) -> None:
    platforms = [arg for tag in _PLATFORMS for arg in ("--platform", f"{tag}_x86_64")]
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    args += ["--python-version", python, "--implementation", "cp", *platforms, "-d", str(dest)]
    pins = [f"{name}=={version}" for name, version in versions.items()]
    run_command([*args, *pins], "downloading the carried wheels")


def _project_wheel(dest: Path) -> None:
    if not (_REPOSITORY / "pyproject.toml").is_file():
        raise BundleError(f"{_REPOSITORY} is not a checkout of pytest-triton: bundle from a clone of the repository")
    args = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dest)]
    run_command([*args, str(_REPOSITORY)], "building the project's wheel")


def _size_check(root: Path) -> int:
    sizes = {p: p.stat().st_size for p in root.rglob("*") if p.is_file()}
    total = sum(sizes.values())
    if total > SIZE_LIMIT:
        largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:3]
        names = ", ".join(f"{p.relative_to(root)} ({sizes[p] / 2**20:.1f} MiB)" for p in largest)
        raise BundleError(f"the bundle is {total / 2**20:.1f} MiB, over {SIZE_LIMIT / 2**20:.0f} MiB; largest: {names}")
    return total


def build_bundle(root: Path, python: str = "3.12") -> Bundle:
    """Writes the bundle into `root`, which must be empty or absent."""
    require_empty(root, str(root), "(the bundle is written whole)")
    if not re.fullmatch(r"3\.\d+", python):
        raise BundleError(f"--python {python}: give a Python version as 3.N, such as 3.12")
    (root / WHEELS).mkdir(parents=True, exist_ok=True)
    versions = _carried_versions()
    _server_archive(root / SERVER_ARCHIVE, python)
    _download_wheels(root / WHEELS, python, versions)
    _project_wheel(root / WHEELS)
    facts = {
        "python": python,
        **_server_platform(),
        "pytest_triton": importlib.metadata.version("pytest-triton"),
        "nvidia_pytriton": importlib.metadata.version("nvidia-pytriton"),
        "carried": versions,
        "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    manifest = write_manifest(root, facts)
    return Bundle(root, len(manifest["files"]), _size_check(root))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev bundle", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="where to write the bundle (a new directory)")
    parser.add_argument("--python", default="3.12", help="the GPU machine's Python version (default: 3.12)")
    args = parser.parse_args(argv)
    try:
        bundle = build_bundle(args.dir, args.python)
    except BundleError as error:
        print(f"./dev bundle: {error}", file=sys.stderr)
        return 2
    print(f"{bundle.root}: {bundle.files} files, {bundle.bytes / 2**20:.1f} MiB (limit {SIZE_LIMIT / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
