"""Model FLOP utilisation's parts: BERT's encoder FLOPs, the GPUs' peaks, and MFU where both are known."""

from __future__ import annotations

import pytest

from pytest_triton.checks.in_process import InProcess
from pytest_triton.models.bert import SIZES, encoder_flops
from pytest_triton.models.zoo import zoo_spec
from pytest_triton.perf.gpu_peaks import peak_flops


def test_bert_large_at_384_tokens_is_246_gflops_a_sequence():
    # 24 layers x (8 s h^2 + 4 s h i + 4 s^2 h) with h 1024, i 4096, s 384
    assert encoder_flops(SIZES["large"], 384) == 24 * (8 * 384 * 1024**2 + 4 * 384 * 1024 * 4096 + 4 * 384**2 * 1024)
    assert encoder_flops(SIZES["large"], 384) == pytest.approx(2.464e11, rel=1e-3)


def test_the_bert_spec_gives_flops_from_the_request_shape():
    spec = zoo_spec("bert-large")
    assert spec.flops_per_row is not None
    assert spec.flops_per_row({"input_ids": (8, 384)}) == encoder_flops(SIZES["large"], 384)
    assert zoo_spec("resnext-small").flops_per_row is None


@pytest.mark.parametrize(
    "name, precision, tflops",
    [
        ("NVIDIA H200", "bf16", 989.4),
        ("NVIDIA H100 80GB HBM3", "fp16", 989.4),
        ("NVIDIA H100 PCIe", "fp16", 756.0),
        ("NVIDIA A100-SXM4-80GB", "fp32", 19.5),
        ("Tesla T4", "bf16", None),
        ("NVIDIA GeForce RTX 4090", "fp16", None),
    ],
)
def test_peaks_by_device_name_and_precision(name, precision, tflops):
    peak = peak_flops(name, precision)
    assert peak == (tflops * 1e12 if tflops else None)


def test_mfu_needs_both_the_flops_and_the_peak():
    timed = InProcess(throughput=1000.0, runs=10, flops_per_row=2.464e11, peak_flops=989.4e12)
    assert timed.mfu(2000.0) == pytest.approx(2000 * 2.464e11 / 989.4e12)
    assert InProcess(1000.0, 10, None, 989.4e12).mfu(2000.0) is None
    assert InProcess(1000.0, 10, 2.464e11, None).mfu(2000.0) is None
