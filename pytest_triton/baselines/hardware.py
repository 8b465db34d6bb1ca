"""The hardware key baselines are filed under: the GPU model where a GPU is used, else CPU model and cores."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Sequence

# Marketing words that change between BIOS/kernel versions of the same part and would split baselines.
_NOISE = re.compile(r"\((?:r|tm)\)|\bcpu\b|\bprocessor\b|@.*$|\b\d+-core\b", re.IGNORECASE)


def slug(text: str) -> str:
    """'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz' -> 'intel-xeon-platinum-8481c'."""
    cleaned = _NOISE.sub(" ", text)
    return re.sub(r"[^a-z0-9]+", "-", cleaned.lower()).strip("-") or "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    # The cores this process may run on (a container's or taskset's share), not the host's total.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def nvidia_smi_query(field: str) -> list[str]:
    """One `nvidia-smi --query-gpu` field per GPU, by index; empty where there is no GPU or no nvidia-smi."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def gpu_names() -> list[str]:
    """Names of the GPUs by index, from nvidia-smi; empty where there is none."""
    return nvidia_smi_query("name")


def hardware_key(gpus: Sequence[int] = ()) -> str:
    """'gpu-nvidia-h100-80gb-hbm3' (with '-x2' for two GPUs), or 'cpu-amd-epyc-7b13-2c' without GPUs."""
    if not gpus:
        return f"cpu-{slug(cpu_model())}-{usable_cores()}c"
    names = gpu_names()
    used = sorted({names[i] for i in gpus if i < len(names)}) or ["unknown"]
    key = "gpu-" + "+".join(slug(n) for n in used)
    return key + (f"-x{len(gpus)}" if len(gpus) > 1 else "")
