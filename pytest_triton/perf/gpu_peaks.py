"""The GPUs' dense peaks, against which model FLOP utilisation (MFU) puts a throughput's arithmetic.

The peaks are the vendors' datasheet figures without sparsity, in TFLOP/s: fp16 and bf16 on the tensor cores, and
fp32 on the CUDA cores (torch and onnxruntime leave TF32 off for fp32 matrix products by default). The H200 has the
H100 SXM's arithmetic. A GPU not listed has no MFU: a guess would read as a measurement.
"""

from __future__ import annotations

# (a substring of nvidia-smi's GPU name, lower case, most specific first) -> precision -> dense TFLOP/s
_PEAKS: tuple[tuple[str, dict[str, float]], ...] = (
    ("h100 pcie", {"fp16": 756.0, "bf16": 756.0, "fp32": 51.2}),
    ("h100", {"fp16": 989.4, "bf16": 989.4, "fp32": 66.9}),
    ("h200", {"fp16": 989.4, "bf16": 989.4, "fp32": 66.9}),
    ("a100", {"fp16": 312.0, "bf16": 312.0, "fp32": 19.5}),
    ("l40s", {"fp16": 362.1, "bf16": 362.1, "fp32": 91.6}),
    ("l4", {"fp16": 121.0, "bf16": 121.0, "fp32": 30.3}),
    ("a10", {"fp16": 125.0, "bf16": 125.0, "fp32": 31.2}),
    ("t4", {"fp16": 65.0, "fp32": 8.1}),
)


def peak_flops(device_name: str, precision: str) -> float | None:
    """FLOP/s at the peak of the GPU nvidia-smi names `device_name`, computing in `precision`; None where unknown."""
    name = device_name.lower()
    for part, peaks in _PEAKS:
        if part in name:
            tflops = peaks.get(precision)
            return tflops * 1e12 if tflops else None
    return None
