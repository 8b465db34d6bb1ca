"""Hardware keys and the software record."""

from __future__ import annotations

import re

import pytest

from pytest_triton.baselines import hardware
from pytest_triton.baselines.software import software_changes, software_versions


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


def test_cpu_key_is_model_and_usable_cores(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_model", lambda: "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz")
    monkeypatch.setattr(hardware, "usable_cores", lambda: 2)
    assert hardware.hardware_key() == "cpu-intel-xeon-platinum-8481c-2c"


def test_gpu_key_is_the_gpu_model(monkeypatch):
    monkeypatch.setattr(hardware, "gpu_names", lambda: ["NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"])
    assert hardware.hardware_key(gpus=(1,)) == "gpu-nvidia-a100-sxm4-80gb"
    assert hardware.hardware_key(gpus=(0, 1)) == "gpu-nvidia-a100-sxm4-80gb-x2"


def test_this_machines_key_is_filesystem_safe():
    assert re.fullmatch(r"cpu-[a-z0-9-]+-\d+c", hardware.hardware_key())


def test_software_record_and_its_changes():
    versions = software_versions({"version": "2.51.0"}, backend="python")
    assert versions["triton"] == "2.51.0" and versions["backend"] == "python"
    assert versions["torch"] and versions["driver"] is None
    assert software_changes({"triton": "2.50.0", "torch": None}, {"triton": "2.51.0", "torch": "2.14.1"}) == {
        "triton": ("2.50.0", "2.51.0")
    }
