"""OUT/summary.md of an offline GPU run: one page of what ran where, what was left out, the counts, the perf figures
(from the JUnit properties the perf suite records) and the baselines written for review."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.offline.machine import Gpu, Runtimes

# The JUnit properties a perf row shows, per load point label: (property, column, format).
_PERF_COLUMNS = (
    ("throughput_infer_per_s", "infer/s", "{:.1f}"),
    ("latency_p99_ms", "p99 ms", "{:.2f}"),
    ("served_vs_in_process", "served / in-process", "{:.2f}"),
    ("mfu", "MFU", "{:.1%}"),
    ("gpu_memory_mib", "GPU MiB", "{:.0f}"),
    ("gpu_utilization", "GPU util", "{:.0%}"),
    ("gpu_power_w", "GPU W", "{:.0f}"),
)


@dataclass(frozen=True)
class Stage:
    name: str  # what it ran, in words
    junit: Path
    seconds: float
    exit_code: int


def stage_counts(junit: Path) -> dict[str, int]:
    """passed, failures, errors and skipped of a JUnit file; empty where there is none (the run did not start)."""
    try:
        root = ElementTree.parse(junit).getroot()
    except (OSError, ElementTree.ParseError):
        return {}
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return {}
    counts = {name: int(suite.get(name, 0)) for name in ("tests", "failures", "errors", "skipped")}
    return {"passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"], **counts}


def perf_rows(junit: Path) -> list[str]:
    """A Markdown row per measured load point of the perf suite's tests in `junit`."""
    try:
        cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    except (OSError, ElementTree.ParseError):
        return []
    rows = []
    for case in cases:
        found = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        config = re.sub(r"^.*\[|\]$", "", case.get("name", ""))
        for label in sorted({name.split(".")[0] for name in found if name.endswith(".throughput_infer_per_s")}):
            cells = [_cell(found.get(f"{label}.{key}"), shape) for key, _, shape in _PERF_COLUMNS]
            rows.append(f"| {config} {label} | " + " | ".join(cells) + " |")
    return rows


def _cell(value: str | None, shape: str) -> str:
    try:
        return shape.format(float(value)) if value is not None else "-"
    except ValueError:
        return value or "-"


def summary_page(gpu: Gpu | None, found: Runtimes, checked: str, left_out: tuple[str, ...], install_s: float,
                 stages: list[Stage], out: Path) -> str:  # fmt: skip
    machine = f"{gpu.name}, {gpu.memory}, driver {gpu.driver}" if gpu else "CPU (--allow-cpu)"
    written = sorted(str(p.relative_to(out)) for p in (out / "baselines").rglob("*.json"))
    lines = [
        "# GPU checks from the offline bundle",
        "",
        f"- Machine: {machine}",
        f"- Software: torch {found.torch} (CUDA {found.torch_cuda}), onnxruntime {found.onnxruntime} "
        f"{list(found.providers)}, tensorrt {found.tensorrt or 'absent'}, onnx {found.onnx or 'absent'}, numpy "
        f"{found.numpy} (the python stub's is the bundle's, below 2)",
        f"- Checked: {checked}",
        *(f"- Left out: {reason}" for reason in left_out),
        f"- Install: {install_s:.0f} s",
    ]
    for stage in stages:
        counts = stage_counts(stage.junit)
        told = ", ".join(f"{counts[k]} {k}" for k in ("passed", "failures", "errors", "skipped")) if counts else "none"
        lines.append(f"- {stage.name}: {told} in {stage.seconds:.0f} s (exit {stage.exit_code}; {stage.junit.name})")
    lines.append(f"- Baselines written (review, then commit under baselines/): {', '.join(written) or 'none'}")
    rows = [row for stage in stages for row in perf_rows(stage.junit)]
    if rows:
        header = " | ".join(column for _, column, _ in _PERF_COLUMNS)
        lines += ["", f"| configuration, load | {header} |", "|---" * (len(_PERF_COLUMNS) + 1) + "|", *rows]
    return "\n".join(lines) + "\n"
