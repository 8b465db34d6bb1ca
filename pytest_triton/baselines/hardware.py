"""The hardware key baselines are filed under, and the facts it is made of: the GPU models and memory where a GPU
is used, else the CPU's vendor, family and model numbers, instruction-set tier and usable cores. The model name
alone does not do: two EPYC generations both read "AMD EPYC Processor" in a VM (issue 8)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

# Marketing words that change between BIOS/kernel versions of the same part and would split baselines.
_NOISE = re.compile(r"\((?:r|tm)\)|\bcpu\b|\bprocessor\b|@.*$|\b\d+-core\b", re.IGNORECASE)

# /proc/cpuinfo flag -> tier, highest first: the tier decides which kernels onnxruntime and torch pick.
_ISA_TIERS = (("amx_tile", "amx"), ("avx512f", "avx512"), ("avx2", "avx2"), ("avx", "avx"))

# vendor_id (x86) or CPU implementer (aarch64) -> the vendor's name in keys; others are slugged as they are.
_VENDORS = {
    "GenuineIntel": "intel",
    "AuthenticAMD": "amd",
    "HygonGenuine": "hygon",
    "0x41": "arm",
    "0x4e": "nvidia",
    "0x51": "qualcomm",
    "0x61": "apple",
    "0xc0": "ampere",
}

# A memory size in a GPU slug, e.g. the 80 of 'nvidia-h100-80gb-hbm3'.
_GB_IN_NAME = re.compile(r"(?:^|-)(\d+)gb(?=-|$)")

# What key() gives where the facts are known: CPU family/model numbers (or an aarch64 part) and ISA tier; a
# memory size in every GPU model. Old keys lack these (those of GPUs named with their memory read the same).
_CPU_KEY = re.compile(r"cpu-[a-z0-9-]+-(?:f\d+m\d+|m0x[0-9a-f]+)-[a-z0-9-]+-\d+c")
_GPU_MODEL = r"(?:[a-z0-9]+-)*\d+gb(?:-[a-z0-9]+)*"
_GPU_KEY = re.compile(rf"gpu-{_GPU_MODEL}(?:\+{_GPU_MODEL})*(?:-x\d+)?")


def slug(text: str) -> str:
    """'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz' -> 'intel-xeon-platinum-8481c'."""
    cleaned = _NOISE.sub(" ", text)
    return re.sub(r"[^a-z0-9]+", "-", cleaned.lower()).strip("-") or "unknown"


@dataclass(frozen=True)
class HardwareFacts(ABC):
    """What a hardware key is made of; recorded in each baseline file, so a key can be explained and checked."""

    kind: ClassVar[str]

    @abstractmethod
    def key(self) -> str:
        """The scope baselines of this hardware are filed under."""

    def to_json(self) -> dict[str, Any]:
        fields = {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}
        return {"kind": self.kind, **fields}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> HardwareFacts:
        """From a record the baseline schema accepted."""
        fields = {name: tuple(value) if isinstance(value, list) else value for name, value in data.items()}
        kind = str(fields.pop("kind"))
        return {"cpu": CpuFacts, "gpu": GpuFacts}[kind](**fields)


@dataclass(frozen=True)
class CpuFacts(HardwareFacts):
    kind: ClassVar[str] = "cpu"
    name: str  # /proc/cpuinfo's model name
    vendor: str | None  # vendor_id, or the CPU implementer on aarch64
    family: int | None  # None on aarch64
    model: int | str | None  # the CPU part ('0xd0c') on aarch64
    isa: str  # amx, avx512, avx2, avx, or the machine name (aarch64, x86_64)
    cores: int  # usable by this process

    def key(self) -> str:
        """'cpu-amd-epyc-f25m17-avx512-2c'; the vendor is left out where the model name starts with it."""
        name = slug(self.name)
        parts = ["cpu", name]
        vendor = _VENDORS.get(self.vendor, slug(self.vendor)) if self.vendor else None
        if vendor and not (name == vendor or name.startswith(vendor + "-")):
            parts.append(vendor)
        if self.model is not None:
            parts.append(("" if self.family is None else f"f{self.family}") + f"m{self.model}")
        return "-".join([*parts, slug(self.isa), f"{self.cores}c"])


@dataclass(frozen=True)
class GpuFacts(HardwareFacts):
    kind: ClassVar[str] = "gpu"
    names: tuple[str, ...]  # one per used GPU
    memory_gb: tuple[int | None, ...]  # total memory of each, None where nvidia-smi does not say

    def key(self) -> str:
        """'gpu-nvidia-h200-140gb', 'gpu-nvidia-h100-80gb-hbm3-x2', 'gpu-nvidia-l4-22gb+tesla-t4-15gb-x2'."""
        models = sorted({_gpu_model(name, memory) for name, memory in zip(self.names, self.memory_gb)})
        return "gpu-" + "+".join(models) + (f"-x{len(self.names)}" if len(self.names) > 1 else "")


def _gpu_model(name: str, memory_gb: int | None) -> str:
    """The slug of `name`, with the memory appended unless the name says it already (an 'H100 80GB' has 79.6 GiB:
    a number within 10% counts)."""
    text = slug(name)
    if memory_gb is None or any(abs(int(n) - memory_gb) <= 0.1 * memory_gb for n in _GB_IN_NAME.findall(text)):
        return text
    return f"{text}-{memory_gb}gb"


def legacy_key(facts: HardwareFacts) -> str:
    """The key before issue 8: 'cpu-<model name>-<cores>c' or 'gpu-<name>[-xN]'. Two CPU generations could share
    it; migration finds this machine's old baselines under it."""
    match facts:
        case CpuFacts():
            return f"cpu-{slug(facts.name)}-{facts.cores}c"
        case GpuFacts():
            key = "gpu-" + "+".join(slug(name) for name in sorted(set(facts.names)))
            return key + (f"-x{len(facts.names)}" if len(facts.names) > 1 else "")
    raise TypeError(f"no legacy key for {facts!r}")


def is_current_key(scope: str) -> bool:
    """Whether `scope` has the form key() gives (not the old one); False for scopes such as 'accuracy'."""
    return bool(_CPU_KEY.fullmatch(scope) or _GPU_KEY.fullmatch(scope))


def cpu_facts(cpuinfo: str, cores: int, machine: str, processor: str = "") -> CpuFacts:
    """The facts of /proc/cpuinfo's first processor (`cpuinfo` is its text, '' where there is none). `machine` and
    `processor` are platform's: the name where cpuinfo gives none, as hardware_key() always did, so old keys match."""
    info = _first_block(cpuinfo)
    flags = set((info.get("flags") or info.get("features", "")).split())
    isa = next((tier for flag, tier in _ISA_TIERS if flag in flags), machine.lower() or "unknown")
    name = info.get("model name") or processor or machine or "unknown"
    if "vendor_id" in info:
        return CpuFacts(name, info["vendor_id"], _int(info.get("cpu family")), _int(info.get("model")), isa, cores)
    part = info.get("cpu part")
    return CpuFacts(name, info.get("cpu implementer"), None, part.lower() if part else None, isa, cores)


def gpu_facts(gpus: Sequence[int], names: Sequence[str], memory: Sequence[str]) -> GpuFacts:
    """Name and memory of each GPU in `gpus`, from nvidia-smi's rows by index ('81559 MiB' -> 80); 'unknown'
    where it has no row for one."""
    return GpuFacts(
        tuple(names[i] if i < len(names) else "unknown" for i in gpus),
        tuple(_gib(memory[i]) if i < len(memory) else None for i in gpus),
    )


def hardware_facts(gpus: Sequence[int] = ()) -> HardwareFacts:
    """This machine's facts: those of the GPUs in `gpus`, or of the CPU where there are none."""
    if gpus:
        return gpu_facts(gpus, nvidia_smi_query("name"), nvidia_smi_query("memory.total"))
    return cpu_facts(_read_cpuinfo(), usable_cores(), platform.machine(), platform.processor())


def hardware_key(gpus: Sequence[int] = ()) -> str:
    """'gpu-nvidia-h100-80gb-hbm3' (with '-x2' for two GPUs), or 'cpu-intel-xeon-f6m85-avx512-2c' without GPUs."""
    return hardware_facts(gpus).key()


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


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _first_block(cpuinfo: str) -> dict[str, str]:
    """'key : value' lines up to the first blank line after some, keys lower-cased ('CPU part' -> 'cpu part')."""
    info: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, colon, value = line.partition(":")
        if colon:
            info.setdefault(key.strip().lower(), value.strip())
    return info


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _gib(text: str) -> int | None:
    """'81559 MiB' -> 80; None for '[N/A]'."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*MiB", text.strip())
    return round(float(found.group(1)) / 1024) if found else None
