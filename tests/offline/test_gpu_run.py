"""offline.gpu_run and offline.machine: which variants an offline GPU run checks, the pytest command it runs, and
what it says where no GPU can be used. No GPU here: the GPU side is taken from runtimes as a GPU machine reports
them (the H200 lent to issue 30 reported these: torch 2.11 on CUDA 13.0, onnxruntime without a CUDA provider)."""

from __future__ import annotations

import dataclasses
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_triton.errors import BundleError
from pytest_triton.offline.gpu_run import coverage, main, pytest_command
from pytest_triton.offline.install import Installed, install_bundle
from pytest_triton.offline.machine import Runtimes, find_gpu
from pytest_triton.offline.manifest import write_manifest

REPOSITORY = Path(__file__).resolve().parents[2]
H200 = Runtimes(
    torch="2.11.0+cu130", torch_cuda="13.0", cuda_usable=True, device="NVIDIA H200", bf16=True,
    onnxruntime="1.30.0", providers=("AzureExecutionProvider", "CPUExecutionProvider"), tensorrt=None,
    onnx="1.23.1", numpy="2.5.2",
)  # fmt: skip


def test_on_a_gpu_every_format_its_runtimes_serve_and_why_others_are_left_out():
    cover = coverage(H200, gpu=True)
    assert cover.formats == ("ts-trace", "ts-script")
    assert cover.precisions == ("fp32", "fp16", "bf16")
    assert cover.perf_format == "ts-trace"
    assert any("onnxruntime 1.30.0 has no CUDAExecutionProvider" in reason for reason in cover.left_out)
    assert any("tensorrt is not installed" in reason for reason in cover.left_out)


def test_tensorrt_and_onnxruntime_gpu_add_their_formats_and_perf_takes_tensorrt():
    full = dataclasses.replace(H200, providers=("CUDAExecutionProvider", "CPUExecutionProvider"), tensorrt="10.8")
    cover = coverage(full, gpu=True)
    assert cover.formats == ("ts-trace", "ts-script", "onnx", "trt")
    assert (cover.perf_format, cover.left_out) == ("trt", ())


def test_without_the_onnx_exporter_the_onnx_based_formats_are_left_out():
    cover = coverage(dataclasses.replace(H200, providers=("CUDAExecutionProvider",), tensorrt="10.8", onnx=None), True)
    assert cover.formats == ("ts-trace", "ts-script")
    assert cover.left_out == ("onnx, trt: onnx and onnxscript are not both installed (the ONNX export needs them)",)


def test_on_the_cpu_onnx_is_served_and_measured_and_trt_left_out():
    cover = coverage(dataclasses.replace(H200, cuda_usable=False, device=None, bf16=False), gpu=False)
    assert cover.formats == ("ts-trace", "ts-script", "onnx")
    assert cover.precisions == ("fp32", "fp16", "bf16")
    assert (cover.perf_format, cover.left_out) == ("onnx", ("trt: needs a GPU",))


def test_a_gpu_without_bfloat16_leaves_bf16_out():
    cover = coverage(dataclasses.replace(H200, bf16=False, device="Tesla T4"), gpu=True)
    assert cover.precisions == ("fp32", "fp16")
    assert "bf16: Tesla T4 does not support bfloat16" in cover.left_out


def test_the_command_records_baselines_and_reports_into_out_and_lets_the_user_override(tmp_path: Path):
    installed = Installed(tmp_path / "env/bin/python", tmp_path / "stub-env/bin/python", 1.0)
    out, work = tmp_path / "out", tmp_path / "work"
    command = pytest_command(installed, coverage(H200, gpu=True), True, out, work, ["-k", "parity"])
    assert command[:4] == [str(installed.python), "-m", "pytest", "--triton-suites"]
    for expected in (
        f"--triton-stub-python={installed.stub_python}",
        "--triton-gpu=0",
        "--triton-formats=ts-trace,ts-script",
        "--triton-precisions=fp32,fp16,bf16",
        "--triton-perf-formats=ts-trace",
        "--update-baselines",
        f"--triton-baselines-dir={out / 'baselines'}",
        f"--triton-report={out / 'report'}",
        f"--junitxml={out / 'junit.xml'}",
        f"--triton-cache-dir={work / 'exports'}",
    ):
        assert expected in command
    assert command[-2:] == ["-k", "parity"]


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi: a GPU may be seen")
def test_without_a_gpu_find_gpu_names_what_is_missing():
    with pytest.raises(BundleError, match="no GPU visible: nvidia-smi is not on PATH"):
        find_gpu()


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi: a GPU may be seen")
def test_dev_gpu_without_a_gpu_ends_at_once_non_zero_saying_so(tmp_path: Path):
    done = subprocess.run(
        [str(REPOSITORY / "dev"), "gpu", "--bundle", str(tmp_path / "bundle"), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert done.returncode == 2
    assert "no GPU visible" in done.stderr and "--allow-cpu runs the same checks on the CPU" in done.stderr
    assert not (tmp_path / "out").exists()


def _bundle_for(root: Path, **facts) -> Path:
    """A bundle with no files whose manifest describes this machine, or what `facts` say."""
    here = {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "machine": platform.machine()}
    root.mkdir(parents=True, exist_ok=True)
    write_manifest(root, {**here, "glibc": [2, 17], **facts})
    return root


def test_install_refuses_a_place_that_holds_something(tmp_path: Path):
    (tmp_path / "place").mkdir()
    (tmp_path / "place" / "kept.txt").write_text("mine")
    with pytest.raises(BundleError, match="not an empty directory"):
        install_bundle(_bundle_for(tmp_path / "bundle"), tmp_path / "place")
    assert (tmp_path / "place" / "kept.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "facts, message",
    [
        (
            {"python": "3.9"},
            r"for Python 3\.9, and .* is Python 3\.\d+: run with that Python \(PYTHON=/path/to/python3\.9",
        ),
        ({"machine": "aarch64"}, "the bundle is for aarch64 machines; this one is x86_64"),
        ({"glibc": [99, 0]}, r"needs glibc 99\.0 or newer \(Ubuntu 22\.04 and later\); this machine has 2\.\d+"),
    ],
    ids=["python", "processor", "glibc"],
)
def test_a_machine_the_bundle_cannot_run_on_is_refused_before_anything_is_written(tmp_path: Path, facts, message):
    with pytest.raises(BundleError, match=message):
        install_bundle(_bundle_for(tmp_path / "bundle", **facts), tmp_path / "place")
    assert not (tmp_path / "place").exists()


def test_an_output_directory_holding_an_earlier_run_is_refused(tmp_path: Path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "junit.xml").write_text("<testsuite/>")
    bundle = _bundle_for(tmp_path / "bundle")
    code = main(["--bundle", str(bundle), "--out", str(tmp_path / "out"), "--allow-cpu", "--work", str(tmp_path / "w")])
    assert code == 2
    assert "not an empty directory; give a new one" in capsys.readouterr().err
    assert not (tmp_path / "w").exists(), "nothing installed"
