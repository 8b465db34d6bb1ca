"""`./dev gpu --bundle DIR --out OUT [pytest args]`: on a GPU machine without a package index, installs the bundle
into a temporary place, runs the suites on GPU 0 in every format and precision the machine allows, records the
baselines and reports into OUT, and writes OUT/summary.md. `--allow-cpu` runs the same on the CPU."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import BundleError
from pytest_triton.offline.install import Installed, install_bundle
from pytest_triton.offline.machine import Gpu, Runtimes, find_gpu, runtimes

_PREFIX = "[./dev gpu]"
_RUN_LIMIT_S = 3600
# xdist workers, each with its own server on the GPU: measurements still take their turns alone (turns.py).
_WORKERS = 4
# Seconds a model's config search may take: two zoo models' searches and the rest within the 8 minutes aimed at.
_SEARCH_BUDGET_S = 90


@dataclass(frozen=True)
class Coverage:
    """The variants a run checks, and why the others are left out."""

    formats: tuple[str, ...]
    precisions: tuple[str, ...]
    perf_format: str
    left_out: tuple[str, ...]


def coverage(found: Runtimes, gpu: bool) -> Coverage:
    """Every format and precision this machine's runtimes can serve; perf on the fastest format among them."""
    formats, left_out = ["ts-trace", "ts-script"], []
    if not found.onnx:
        left_out.append("onnx, trt: onnx and onnxscript are not both installed (the ONNX export needs them)")
    else:
        if not gpu or "CUDAExecutionProvider" in found.providers:
            formats.append("onnx")
        else:
            left_out.append(f"onnx: onnxruntime {found.onnxruntime} has no CUDAExecutionProvider (onnxruntime-gpu has)")
        if not gpu:
            left_out.append("trt: needs a GPU")
        elif found.tensorrt:
            formats.append("trt")
        else:
            left_out.append("trt: tensorrt is not installed")
    precisions = ["fp32", "fp16"]
    if not gpu or found.bf16:
        precisions.append("bf16")
    else:
        left_out.append(f"bf16: {found.device} does not support bfloat16")
    perf = next(f for f in ("trt", "onnx", "ts-trace") if f in formats)
    return Coverage(tuple(formats), tuple(precisions), perf, tuple(left_out))


def pytest_command(
    installed: Installed, cover: Coverage, gpu: bool, out: Path, work: Path, extra: list[str]
) -> list[str]:
    """The suites with every variant of `cover`, recording baselines and reports into `out`; `extra` last, so
    that it overrides."""
    perf_precisions = "fp32,fp16" if gpu else "fp32"
    return [
        str(installed.python), "-m", "pytest", "--triton-suites", f"--triton-stub-python={installed.stub_python}",
        *(["--triton-gpu=0"] if gpu else []),
        f"--triton-formats={','.join(cover.formats)}", f"--triton-precisions={','.join(cover.precisions)}",
        f"--triton-perf-formats={cover.perf_format}", f"--triton-perf-precisions={perf_precisions}",
        "--triton-search=quick", f"--triton-search-budget={_SEARCH_BUDGET_S}",
        "--update-baselines", f"--triton-baselines-dir={out / 'baselines'}",
        f"--triton-report={out / 'report'}", f"--junitxml={out / 'junit.xml'}", "-o", "junit_family=xunit1",
        f"--triton-cache-dir={work / 'exports'}", f"--triton-search-dir={work / 'search'}",
        "-o", f"cache_dir={work / 'pytest-cache'}", "-rfEs", "-n", str(min(_WORKERS, os.cpu_count() or 1)), *extra,
    ]  # fmt: skip


def _stream(command: list[str], cwd: Path, log: Path) -> int:
    """Runs `command`, its output shown as it comes and kept in `log`; stopped after _RUN_LIMIT_S."""
    with open(log, "wb") as kept:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        watchdog = threading.Timer(_RUN_LIMIT_S, process.kill)
        watchdog.start()
        assert process.stdout is not None
        # Chunks, not lines: pytest's progress dots come without a newline.
        for chunk in iter(lambda: os.read(process.stdout.fileno(), 1 << 16), b""):  # type: ignore[union-attr]
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            kept.write(chunk)
        watchdog.cancel()
        code = process.wait(timeout=60)
    if code < 0:
        print(f"{_PREFIX} stopped: the suites ran past {_RUN_LIMIT_S} s", flush=True)
    return code


def _counts(junit: Path) -> dict[str, int]:
    try:
        root = ElementTree.parse(junit).getroot()
    except (OSError, ElementTree.ParseError):
        return {}
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return {}
    counts = {name: int(suite.get(name, 0)) for name in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def _software(found: Runtimes) -> str:
    return (
        f"torch {found.torch} (CUDA {found.torch_cuda}), onnxruntime {found.onnxruntime} {list(found.providers)}, "
        f"tensorrt {found.tensorrt or 'absent'}, onnx {found.onnx or 'absent'}, numpy {found.numpy} "
        "(the python stub's is the bundle's, below 2)"
    )


def _variants(cover: Coverage) -> str:
    return f"formats {', '.join(cover.formats)}; precisions {', '.join(cover.precisions)}; perf on {cover.perf_format}"


def _summary(gpu: Gpu | None, found: Runtimes, cover: Coverage, counts: dict[str, int], times: dict[str, float],
             out: Path) -> str:  # fmt: skip
    machine = f"{gpu.name}, {gpu.memory}, driver {gpu.driver}" if gpu else "CPU (--allow-cpu)"
    written = sorted(str(p.relative_to(out)) for p in (out / "baselines").rglob("*.json")) if out.is_dir() else []
    lines = [
        "# GPU checks from the offline bundle",
        "",
        f"- Machine: {machine}",
        f"- Software: {_software(found)}",
        f"- Checked: {_variants(cover)}",
        *(f"- Left out: {reason}" for reason in cover.left_out),
        "- Tests: " + (", ".join(f"{counts[k]} {k}" for k in ("passed", "failures", "errors", "skipped")) or "none"),
        f"- Time: install {times['install']:.0f} s, suites {times['suites']:.0f} s",
        f"- Baselines written (commit them under baselines/ after review): {', '.join(written) or 'none'}",
        "- Reports: report/summary.md, report/report.json, report/*.png, junit.xml, pytest.log",
    ]
    return "\n".join(lines) + "\n"


def run(bundle: Path, out: Path, allow_cpu: bool, work: Path, extra: list[str]) -> int:
    try:
        gpu: Gpu | None = find_gpu()
    except BundleError as error:
        if not allow_cpu:
            raise BundleError(f"{error}. --allow-cpu runs the same checks on the CPU") from None
        print(f"{_PREFIX} {error}; --allow-cpu: the checks run on the CPU", flush=True)
        gpu = None
    print(f"{_PREFIX} {gpu or 'CPU'}; installing {bundle} into {work}", flush=True)
    installed = install_bundle(bundle, work)
    found = runtimes(installed.python, gpu)
    cover = coverage(found, gpu is not None)
    print(f"{_PREFIX} installed in {installed.seconds:.0f} s; {_software(found)}", flush=True)
    print(f"{_PREFIX} checking {_variants(cover)}", flush=True)
    for reason in cover.left_out:
        print(f"{_PREFIX} left out: {reason}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    command = pytest_command(installed, cover, gpu is not None, out.resolve(), work, extra)
    code = _stream(command, work, out / "pytest.log")
    times = {"install": installed.seconds, "suites": time.monotonic() - started}
    summary = _summary(gpu, found, cover, _counts(out / "junit.xml"), times, out)
    (out / "summary.md").write_text(summary)
    print(summary, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="the directory ./dev bundle wrote")
    parser.add_argument("--out", type=Path, required=True, help="where baselines, reports and summary.md go")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU where no GPU is visible")
    parser.add_argument("--work", type=Path, help="the temporary place to install into (default: a new one)")
    args, extra = parser.parse_known_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pytest-triton-gpu-"))
    try:
        return run(args.bundle, args.out, args.allow_cpu, work.resolve(), extra)
    except BundleError as error:
        print(f"./dev gpu: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
