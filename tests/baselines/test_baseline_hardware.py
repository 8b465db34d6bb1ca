"""Hardware facts and keys, and the software record."""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import pytest

from pytest_triton.baselines import hardware
from pytest_triton.baselines.hardware import (
    CpuFacts,
    GpuFacts,
    HardwareFacts,
    cpu_facts,
    gpu_facts,
    is_current_key,
    legacy_key,
)
from pytest_triton.baselines.schema import BaselineFileError, validate
from pytest_triton.baselines.software import software_changes, software_versions


def cpuinfo(vendor: str, family: int, model: int, name: str, flags: str) -> str:
    """The first two processor blocks of /proc/cpuinfo on x86 (the second must not be read)."""
    block = (
        "processor\t: {n}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n"
        "model name\t: {name}\nstepping\t: 1\nflags\t\t: fpu sse sse2 {flags}\n\n"
    )
    first = block.format(n=0, vendor=vendor, family=family, model=model, name=name, flags=flags)
    return first + block.format(n=1, vendor="other", family=0, model=0, name="other", flags="")


ROME = cpuinfo("AuthenticAMD", 23, 49, "AMD EPYC Processor", "avx avx2 fma")
GENOA = cpuinfo("AuthenticAMD", 25, 17, "AMD EPYC Processor", "avx avx2 avx512f avx512bw")
SKYLAKE = cpuinfo("GenuineIntel", 6, 85, "Intel(R) Xeon(R) Processor @ 2.00GHz", "avx avx2 avx512f")
SAPPHIRE_RAPIDS = cpuinfo("GenuineIntel", 6, 143, "Intel(R) Xeon(R) Processor @ 2.00GHz", "avx2 avx512f amx_tile")
GRAVITON3 = (
    "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve sve2\nCPU implementer\t: 0x41\n"
    "CPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xD40\nCPU revision\t: 1\n"
)


def x86(text: str) -> CpuFacts:
    return cpu_facts(text, cores=2, machine="x86_64")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", "intel-xeon-platinum-8481c"),
        ("AMD EPYC 7B13 64-Core Processor", "amd-epyc-7b13"),
        ("NVIDIA H100 80GB HBM3", "nvidia-h100-80gb-hbm3"),
        ("Tesla T4", "tesla-t4"),
        ("", "unknown"),
    ],
)
def test_slug_keeps_the_part_and_drops_marketing_and_clock(name, expected):
    assert hardware.slug(name) == expected


@pytest.mark.parametrize(
    "older, newer, keys",
    [
        (ROME, GENOA, ("cpu-amd-epyc-f23m49-avx2-2c", "cpu-amd-epyc-f25m17-avx512-2c")),
        (SKYLAKE, SAPPHIRE_RAPIDS, ("cpu-intel-xeon-f6m85-avx512-2c", "cpu-intel-xeon-f6m143-amx-2c")),
    ],
)
def test_cpu_generations_with_the_same_model_name_get_different_keys(older, newer, keys):
    assert x86(older).name == x86(newer).name
    assert (x86(older).key(), x86(newer).key()) == keys
    assert legacy_key(x86(older)) == legacy_key(x86(newer))  # what issue 8 was about


def test_cpu_facts_come_from_the_first_processor():
    assert x86(GENOA) == CpuFacts("AMD EPYC Processor", "AuthenticAMD", 25, 17, "avx512", 2)


def test_the_vendor_is_named_where_the_model_name_does_not_say_it():
    kvm = x86(cpuinfo("AuthenticAMD", 23, 49, "Common KVM processor", "avx avx2"))
    assert kvm.key() == "cpu-common-kvm-amd-f23m49-avx2-2c"


def test_aarch64_is_keyed_by_implementer_and_part():
    facts = cpu_facts(GRAVITON3, cores=4, machine="aarch64")
    assert facts == CpuFacts("aarch64", "0x41", None, "0xd40", "aarch64", 4)
    assert facts.key() == "cpu-aarch64-arm-m0xd40-aarch64-4c"
    assert legacy_key(facts) == "cpu-aarch64-4c"


def test_without_cpuinfo_the_platform_names_the_cpu_as_before():
    facts = cpu_facts("", cores=8, machine="arm64", processor="arm")
    assert (facts.key(), legacy_key(facts)) == ("cpu-arm-arm64-8c", "cpu-arm-8c")


@pytest.mark.parametrize(
    "name, memory, key",
    [
        ("NVIDIA H100 80GB HBM3", "81559 MiB", "gpu-nvidia-h100-80gb-hbm3"),  # 79.6 GiB: the name says it
        ("NVIDIA A100-SXM4-40GB", "40960 MiB", "gpu-nvidia-a100-sxm4-40gb"),
        ("Tesla T4", "15360 MiB", "gpu-tesla-t4-15gb"),
        ("NVIDIA H200", "143771 MiB", "gpu-nvidia-h200-140gb"),
        ("NVIDIA A100-PCIE-40GB", "81920 MiB", "gpu-nvidia-a100-pcie-40gb-80gb"),  # the name's number is not it
        ("NVIDIA GH200 480GB", "[N/A]", "gpu-nvidia-gh200-480gb"),
    ],
)
def test_gpu_key_is_the_name_and_memory(name, memory, key):
    assert gpu_facts((0,), [name], [memory]).key() == key


def test_gpu_key_counts_gpus_and_joins_models():
    names, memory = ["NVIDIA L4", "Tesla T4", "Tesla T4"], ["23034 MiB", "15360 MiB", "15360 MiB"]
    assert gpu_facts((1, 2), names, memory).key() == "gpu-tesla-t4-15gb-x2"
    assert gpu_facts((0, 1), names, memory).key() == "gpu-nvidia-l4-22gb+tesla-t4-15gb-x2"
    assert legacy_key(gpu_facts((0, 1), names, memory)) == "gpu-nvidia-l4+tesla-t4-x2"
    assert gpu_facts((5,), names, memory) == GpuFacts(("unknown",), (None,))


def test_hardware_key_reads_cpuinfo_or_nvidia_smi(monkeypatch):
    monkeypatch.setattr(hardware, "_read_cpuinfo", lambda: SKYLAKE)
    monkeypatch.setattr(hardware, "usable_cores", lambda: 2)
    rows = {"name": ["NVIDIA A100-SXM4-80GB"] * 2, "memory.total": ["81920 MiB"] * 2}
    monkeypatch.setattr(hardware, "nvidia_smi_query", rows.__getitem__)
    assert hardware.hardware_key() == "cpu-intel-xeon-f6m85-avx512-2c"
    assert hardware.hardware_key(gpus=(1,)) == "gpu-nvidia-a100-sxm4-80gb"
    assert hardware.hardware_key(gpus=(0, 1)) == "gpu-nvidia-a100-sxm4-80gb-x2"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the x86 key form")
def test_this_machines_key_is_filesystem_safe_and_current():
    key = hardware.hardware_key()
    assert re.fullmatch(r"cpu-[a-z0-9-]+-f\d+m\d+-[a-z0-9]+-\d+c", key)
    assert is_current_key(key) and not is_current_key(legacy_key(hardware.hardware_facts()))


@pytest.mark.parametrize(
    "scope, current",
    [
        ("cpu-amd-epyc-f25m17-avx512-2c", True),
        ("cpu-aarch64-arm-m0xd40-aarch64-4c", True),
        ("gpu-nvidia-l4-22gb+tesla-t4-15gb-x2", True),
        ("gpu-nvidia-h100-80gb-hbm3", True),  # named with its memory: the old key reads the same
        ("cpu-amd-epyc-2c", False),
        ("cpu-amd-epyc-7b13-2c", False),
        ("gpu-tesla-t4", False),
        ("gpu-nvidia-l4-22gb+tesla-t4-x2", False),
        ("accuracy", False),
    ],
)
def test_current_keys_are_told_from_old_ones(scope, current):
    assert is_current_key(scope) is current


FACTS = [x86(GENOA), cpu_facts(GRAVITON3, cores=4, machine="aarch64"), gpu_facts((0, 1), ["Tesla T4"] * 2, [])]


@pytest.mark.parametrize("facts", FACTS, ids=lambda facts: facts.kind)
def test_facts_round_trip_through_json_and_the_schema_accepts_them(facts):
    data = json.loads(json.dumps(facts.to_json()))
    assert HardwareFacts.from_json(data) == facts
    assert data == facts.to_json()
    document = {"schema_version": 1, "scope": facts.key(), "suite": "perf", "software": {}, "entries": {}}
    validate(document | {"hardware": data}, Path("perf.json"))


@pytest.mark.parametrize(
    "hardware_record, where",
    [
        ({"kind": "cpu", "name": "x", "vendor": None, "family": 6, "model": 85, "isa": "avx2", "cores": 0}, "cores"),
        ({"kind": "cpu", "name": "x", "vendor": None, "family": "6", "model": 85, "isa": "avx2", "cores": 2}, "family"),
        ({"kind": "gpu", "names": ["Tesla T4"], "memory_gb": [15], "cores": 2}, ""),
        ({"kind": "tpu"}, "kind"),
    ],
)
def test_the_schema_rejects_bad_hardware_records(hardware_record, where):
    document = {"schema_version": 1, "scope": "cpu-x", "suite": "perf", "software": {}, "entries": {}}
    with pytest.raises(BaselineFileError, match=re.escape(f"$.hardware{'.' + where if where else ''}: ")):
        validate(document | {"hardware": hardware_record}, Path("perf.json"))


def test_software_record_and_its_changes():
    versions = software_versions({"version": "2.51.0"}, backend="python")
    assert versions["triton"] == "2.51.0" and versions["backend"] == "python"
    assert versions["torch"] and versions["driver"] is None
    assert software_changes({"triton": "2.50.0", "torch": None}, {"triton": "2.51.0", "torch": "2.14.1"}) == {
        "triton": ("2.50.0", "2.51.0")
    }
