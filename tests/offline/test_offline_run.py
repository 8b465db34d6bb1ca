"""The whole offline path on this CPU machine, as issue 30 asks: the bundle is built, checked against its limits and
manifest, then installed into a fresh Python 3.12 environment shaped like a GPU machine without Triton (torch,
onnxruntime, transformers, numpy 2; no tritonclient, no tritonserver) with pip's network switched off, and
`./dev gpu --allow-cpu` runs the suites from it end to end. Slow tier: the bundle takes about 90 s to compress."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from pytest_triton.offline.bundle import SERVER_ARCHIVE, SIZE_LIMIT, WHEELS, Bundle, build_bundle
from pytest_triton.offline.manifest import check_manifest

pytestmark = [pytest.mark.slow, pytest.mark.server]

REPOSITORY = Path(__file__).resolve().parents[2]
# What a GPU machine holds, by the description of one (torch's wheel from PyPI, CUDA libraries and all).
MACHINE_PACKAGES = (
    "torch==2.11.*", "torchvision==0.26.*", "numpy>=2", "onnx", "onnxscript", "onnxruntime", "transformers>=5",
    "tokenizers", "grpcio", "protobuf", "aiohttp", "prometheus-client", "matplotlib",
)  # fmt: skip


def _python312() -> str | None:
    for candidate in ("python3.12", *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))):
        try:
            done = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.startswith("Python 3.12"):
            return candidate
    return None


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return build_bundle(tmp_path_factory.mktemp("offline") / "bundle", python="3.12")


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python 3.12 environment shaped like the GPU machine; its python."""
    python = _python312()
    if python is None:
        pytest.skip("no Python 3.12 here: the bundle's stub and wheels are for a GPU machine's Python 3.12")
    env = tmp_path_factory.mktemp("machine") / "env"
    subprocess.run([python, "-m", "venv", str(env)], check=True, timeout=120)
    uv = REPOSITORY / ".venv" / "bin" / "uv"
    install = [str(uv), "pip", "install", "--quiet", "--python", str(env / "bin" / "python"), *MACHINE_PACKAGES]
    done = subprocess.run(install, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        pytest.skip(f"could not make the GPU-machine-like environment (uv and the package index): {done.stderr[-500:]}")
    return env / "bin" / "python"


def _distributions(python: Path) -> dict[str, str]:
    listing = (
        "import json, importlib.metadata as m; "
        "print(json.dumps({d.name.lower(): d.version for d in m.distributions()}))"
    )
    return json.loads(subprocess.run([str(python), "-c", listing], capture_output=True, text=True, check=True).stdout)


def test_the_bundle_fits_and_holds_the_server_the_stub_and_the_wheels(bundle: Bundle):
    assert bundle.bytes <= SIZE_LIMIT
    manifest = check_manifest(bundle.root)
    assert manifest["python"] == "3.12" and manifest["carried"]["numpy"].startswith("1.")
    with tarfile.open(bundle.root / SERVER_ARCHIVE) as archive:
        names = set(archive.getnames())
    assert "pytriton/tritonserver/bin/tritonserver" in names
    assert "pytriton/tritonserver/python_backend_stubs/3.12/triton_python_backend_stub" in names
    assert not any("python_backend_stubs/3.11" in name for name in names)
    assert any(name.startswith("nvidia_pytriton.libs/libtritonserver") for name in names)
    wheels = {p.name.split("-")[0].lower() for p in (bundle.root / WHEELS).glob("*.whl")}
    assert {"tritonclient", "geventhttpclient", "jsonschema", "numpy", "pytest_triton"} <= wheels


def test_dev_gpu_allow_cpu_runs_the_suites_from_the_bundle_without_a_package_index(
    bundle: Bundle, machine: Path, tmp_path: Path
):
    before = _distributions(machine)
    assert "tritonclient" not in before and "nvidia-pytriton" not in before and before["numpy"].startswith("2.")
    out = tmp_path / "out"
    narrow = ["--triton-models=bert-tiny", "--triton-formats=onnx", "--triton-precisions=fp32"]
    done = subprocess.run(
        [str(REPOSITORY / "dev"), "gpu", "--bundle", str(bundle.root), "--out", str(out), "--allow-cpu", *narrow,
         "-k", "conformance or parity or perf"],
        capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PYTHON": str(machine), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    summary = (out / "summary.md").read_text()
    assert "- Machine: CPU (--allow-cpu)" in summary and " 0 failures, 0 errors" in summary
    assert "numpy 2." in summary
    assert list((out / "baselines").glob("cpu-*/perf.json")), summary
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["measurements"], "the perf suite measured nothing"
    assert _distributions(machine) == before, "the machine's packages changed"
