"""offline.gpu_run and offline.machine: which variants an offline GPU run checks, the pytest command it runs, and
what it says where no GPU can be used. No GPU here: the GPU side is taken from runtimes as a GPU machine reports
them (the H200 lent to issue 30 reported these: torch 2.11 on CUDA 13.0, onnxruntime without a CUDA provider)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_triton.errors import BundleError
from pytest_triton.offline.gpu_run import coverage, large_command, pytest_command
from pytest_triton.offline.install import Installed, install_bundle
from pytest_triton.offline.machine import Gpu, Runtimes, find_gpu
from pytest_triton.offline.manifest import write_manifest
from pytest_triton.offline.summary import Stage, summary_page

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


def test_install_refuses_a_place_that_holds_something(tmp_path: Path):
    (tmp_path / "place").mkdir()
    (tmp_path / "place" / "kept.txt").write_text("mine")
    (tmp_path / "bundle").mkdir()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    write_manifest(tmp_path / "bundle", {"python": version})
    with pytest.raises(BundleError, match="not an empty directory"):
        install_bundle(tmp_path / "bundle", tmp_path / "place")
    assert (tmp_path / "place" / "kept.txt").read_text() == "mine"


def test_install_refuses_a_bundle_for_another_python(tmp_path: Path):
    write_manifest(tmp_path, {"python": "3.9"})
    with pytest.raises(BundleError, match=r"built for Python 3\.9.*--python 3\.\d+"):
        install_bundle(tmp_path, tmp_path / "place")


def test_the_larger_models_are_measured_in_fp16_at_batches_8_and_32_beside_in_process(tmp_path: Path):
    installed = Installed(tmp_path / "env/bin/python", tmp_path / "stub-env/bin/python", 1.0)
    command = large_command(installed, coverage(H200, gpu=True), tmp_path / "out", tmp_path / "work")
    for expected in (
        "--triton-models=bert-large,resnext101-32x4d",
        "--triton-formats=ts-trace",
        "--triton-precisions=fp16",
        "--triton-perf-batch-sizes=8,32",
        "--triton-perf-in-process",
        f"--junitxml={tmp_path / 'out' / 'junit-large.xml'}",
    ):
        assert expected in command
    assert command[command.index("-k") + 1] == "test_throughput_and_latency"


JUNIT = """<testsuites><testsuite name="pytest" tests="3" failures="0" errors="0" skipped="1">
<testcase name="test_throughput_and_latency_against_baseline[bert-large-ts-trace-fp16-b8/c1]"><properties>
<property name="c1.throughput_infer_per_s" value="2010.5"/><property name="c1.latency_p99_ms" value="4.2"/>
<property name="c1.served_vs_in_process" value="0.93"/><property name="c1.mfu" value="0.5"/>
<property name="c1.gpu_memory_mib" value="2150.0"/><property name="c1.gpu_utilization" value="0.81"/>
<property name="c1.gpu_power_w" value="402.0"/></properties></testcase>
<testcase name="test_conformance[bert-tiny]"/><testcase name="test_parity[x]"><skipped/></testcase>
</testsuite></testsuites>"""


def test_the_summary_page_counts_each_stage_and_tables_the_perf_points(tmp_path: Path):
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "baselines" / "gpu-nvidia-h200-141gb").mkdir(parents=True)
    (tmp_path / "baselines" / "gpu-nvidia-h200-141gb" / "perf.json").write_text("{}")
    gpu = Gpu("NVIDIA H200", "580.159.04", "143771 MiB")
    stages = [Stage("every suite", tmp_path / "junit.xml", 301.0, 0), Stage("nothing", tmp_path / "none.xml", 1.0, 4)]
    page = summary_page(gpu, H200, "formats ts-trace", ("trt: tensorrt is not installed",), 9.0, stages, tmp_path)
    assert "- Machine: NVIDIA H200, 143771 MiB, driver 580.159.04" in page
    assert "- every suite: 2 passed, 0 failures, 0 errors, 1 skipped in 301 s (exit 0; junit.xml)" in page
    assert "- nothing: none in 1 s (exit 4; none.xml)" in page
    assert "- Left out: trt: tensorrt is not installed" in page
    assert "baselines/gpu-nvidia-h200-141gb/perf.json" in page
    assert "| bert-large-ts-trace-fp16-b8/c1 c1 | 2010.5 | 4.20 | 0.93 | 50.0% | 2150 | 81% | 402 |" in page
