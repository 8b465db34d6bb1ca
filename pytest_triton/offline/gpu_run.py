"""`./dev gpu --bundle DIR --out OUT [pytest args]`: on a GPU machine without a package index, installs the bundle
into a temporary place, runs the suites on GPU 0 in every format and precision the machine allows, records the
baselines and reports into OUT, and writes OUT/summary.md. `--allow-cpu` runs the same on the CPU."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import BundleError
from pytest_triton.offline.install import Installed, install_bundle
from pytest_triton.offline.machine import Gpu, Runtimes, find_gpu, runtimes
from pytest_triton.offline.places import require_empty
from pytest_triton.offline.summary import Stage, summary_page

_PREFIX = "[./dev gpu]"
_RUN_LIMIT_S = 3600
# xdist workers, each with its own server on the GPU: measurements still take their turns alone (turns.py).
_WORKERS = 4
# Seconds a model's config search may take: two zoo models' searches and the rest within the 8 minutes aimed at.
_SEARCH_BUDGET_S = 90
_STOP_GRACE_S = 60
_REPOSITORY = Path(__file__).resolve().parents[2]
LARGE_MODELS = ("bert-large", "resnext101-32x4d")


@dataclass(frozen=True)
class GpuRunOptions:
    bundle: Path
    out: Path  # a new or empty directory
    allow_cpu: bool  # run on the CPU where no GPU is visible
    large: bool  # the perf stage of the GPU's larger models
    work: Path | None  # where to install, kept afterwards; None: a temporary place, removed afterwards
    extra: list[str]  # pytest arguments, last on the first stage's command line


@dataclass(frozen=True)
class Coverage:
    """The variants a run checks, and why the others are left out."""

    formats: tuple[str, ...]
    precisions: tuple[str, ...]
    perf_format: str
    left_out: tuple[str, ...]

    def described(self) -> str:
        return f"formats {', '.join(self.formats)}; precisions {', '.join(self.precisions)}; perf on {self.perf_format}"


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


def _common(installed: Installed, gpu: bool, out: Path, work: Path) -> list[str]:
    """What every stage runs with: the bundle's environments, GPU 0, baselines recorded into `out`."""
    return [
        str(installed.python), "-m", "pytest", "--triton-suites", f"--triton-stub-python={installed.stub_python}",
        *(["--triton-gpu=0"] if gpu else []), "--update-baselines", f"--triton-baselines-dir={out / 'baselines'}",
        "--triton-perf-in-process", "-o", "junit_family=xunit1", f"--triton-cache-dir={work / 'exports'}",
        f"--triton-search-dir={work / 'search'}", "-o", f"cache_dir={work / 'pytest-cache'}", "-rfEs",
        "-n", str(min(_WORKERS, os.cpu_count() or 1)),
    ]  # fmt: skip


def pytest_command(
    installed: Installed, cover: Coverage, gpu: bool, out: Path, work: Path, extra: list[str]
) -> list[str]:
    """Every suite on the zoo's default models in every variant of `cover`, a quick config search, reports into
    `out`; `extra` last, so that it overrides."""
    return [
        *_common(installed, gpu, out, work),
        f"--triton-formats={','.join(cover.formats)}", f"--triton-precisions={','.join(cover.precisions)}",
        f"--triton-perf-formats={cover.perf_format}", f"--triton-perf-precisions={'fp32,fp16' if gpu else 'fp32'}",
        "--triton-search=quick", f"--triton-search-budget={_SEARCH_BUDGET_S}",
        f"--triton-report={out / 'report'}", f"--junitxml={out / 'junit.xml'}", *extra,
    ]  # fmt: skip


def large_command(installed: Installed, cover: Coverage, out: Path, work: Path) -> list[str]:
    """On a GPU: the perf suite on models a GPU is for (BERT-large at 384 tokens, ResNeXt101) at batches 8 and 32 in
    fp16, on the fastest format, each beside the exported model timed in process."""
    return [
        *_common(installed, True, out, work), f"--triton-models={','.join(LARGE_MODELS)}",
        f"--triton-formats={cover.perf_format}", "--triton-precisions=fp16",
        f"--triton-perf-formats={cover.perf_format}", "--triton-perf-precisions=fp16",
        "--triton-perf-batch-sizes=8,32", "-k", "test_throughput_and_latency",
        f"--triton-report={out / 'report-large'}", f"--junitxml={out / 'junit-large.xml'}",
    ]  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    """An interrupt first, so that pytest stops the servers it started (they hold the GPU otherwise), then a kill."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_STOP_GRACE_S)


def _stream(command: list[str], cwd: Path, log: Path) -> int:
    """Runs `command`, its output shown as it comes and kept in `log`; stopped after _RUN_LIMIT_S."""
    timed_out = threading.Event()
    with open(log, "ab") as kept:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def overran() -> None:
            timed_out.set()
            _stop(process)

        watchdog = threading.Timer(_RUN_LIMIT_S, overran)
        watchdog.daemon = True
        watchdog.start()
        try:
            # Chunks, not lines: pytest's progress dots come without a newline.
            for chunk in iter(lambda: os.read(process.stdout.fileno(), 1 << 16), b""):  # type: ignore[union-attr]
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
                kept.write(chunk)
            code = process.wait(timeout=_STOP_GRACE_S)
        finally:
            watchdog.cancel()
            _stop(process)
    if timed_out.is_set():
        print(f"{_PREFIX} stopped: the suites ran past {_RUN_LIMIT_S} s", flush=True)
    return code


def _stage(name: str, command: list[str], work: Path, out: Path, junit: Path) -> Stage:
    print(f"{_PREFIX} {name}", flush=True)
    started = time.monotonic()
    code = _stream(command, work, out / "pytest.log")
    return Stage(name, junit, time.monotonic() - started, code)


def _output_directory(out: Path) -> Path:
    """`out`, new or empty, holding the committed accuracy baselines: the run merges its entries into them, so that
    the file to commit keeps the variants it did not run."""
    out = out.resolve()
    require_empty(out, f"--out {out}", "(a run's files are never mixed)")
    committed = _REPOSITORY / "baselines" / "accuracy" / "accuracy.json"
    (out / "baselines" / "accuracy").mkdir(parents=True)
    if committed.is_file():
        shutil.copy2(committed, out / "baselines" / "accuracy" / "accuracy.json")
    return out


def _checks(options: GpuRunOptions, gpu: Gpu | None, work: Path) -> int:
    """Install into `work`, run each stage, write the summary; the run's exit code."""
    out = _output_directory(options.out)
    installed = install_bundle(options.bundle, work)
    found = runtimes(installed.python, gpu)
    cover = coverage(found, gpu is not None)
    print(f"{_PREFIX} installed in {installed.seconds:.0f} s; checking {cover.described()}", flush=True)
    for reason in cover.left_out:
        print(f"{_PREFIX} left out: {reason}", flush=True)
    command = pytest_command(installed, cover, gpu is not None, out, work, options.extra)
    stages = [_stage("every suite", command, work, out, out / "junit.xml")]
    if gpu is not None and options.large:
        large_run = large_command(installed, cover, out, work)
        stages.append(_stage(f"perf of {', '.join(LARGE_MODELS)}", large_run, work, out, out / "junit-large.xml"))
    page = summary_page(gpu, found, cover.described(), cover.left_out, installed.seconds, stages, out)
    (out / "summary.md").write_text(page)
    print(page, flush=True)
    return max(abs(stage.exit_code) for stage in stages)


def run(options: GpuRunOptions) -> int:
    try:
        gpu: Gpu | None = find_gpu()
    except BundleError as error:
        if not options.allow_cpu:
            raise BundleError(f"{error}. --allow-cpu runs the same checks on the CPU") from None
        print(f"{_PREFIX} {error}; --allow-cpu: the checks run on the CPU", flush=True)
        gpu = None
    work = options.work.resolve() if options.work else Path(tempfile.mkdtemp(prefix="pytest-triton-gpu-"))
    print(f"{_PREFIX} {gpu or 'CPU'}; installing {options.bundle} into {work}", flush=True)
    try:
        return _checks(options, gpu, work)
    finally:
        if options.work is None:  # environments, the server and exports: gigabytes a GPU node's /tmp may lack
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev gpu", description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--bundle", type=Path, required=True, help="the directory ./dev bundle wrote")
    parser.add_argument("--out", type=Path, required=True, help="a new directory for baselines, reports, summary.md")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU where no GPU is visible")
    parser.add_argument("--work", type=Path, help="an empty place to install into, kept (default: a temporary one)")
    parser.add_argument("--no-large", action="store_true", help="leave out the perf of the GPU's larger models")
    args, extra = parser.parse_known_args(argv)
    options = GpuRunOptions(args.bundle.resolve(), args.out, args.allow_cpu, not args.no_large, args.work, extra)
    try:
        return run(options)
    except (BundleError, OSError) as error:
        print(f"./dev gpu: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("./dev gpu: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
