"""The exported artifact timed in the pytest process, on the device the server uses, at a perf point's batch: what
serving costs is the served throughput beside it. With the model's FLOPs and the GPU's peak, model FLOP utilisation
(MFU) too."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pytest_triton.baselines.hardware import nvidia_smi_query
from pytest_triton.export.cache import Artifact
from pytest_triton.export.formats import load_runner
from pytest_triton.models.spec import ModelSpec, SampleCase
from pytest_triton.perf.gpu_peaks import peak_flops

WARMUP_RUNS = 3
SECONDS = 2.0


@dataclass(frozen=True)
class InProcess:
    throughput: float  # rows/s, one batch at a time
    runs: int
    flops_per_row: float | None  # where the spec knows them
    peak_flops: float | None  # the GPU's dense peak at the artifact's precision, where known

    def mfu(self, throughput: float) -> float | None:
        """Model FLOP utilisation of `throughput` rows/s; None without FLOPs or a peak (the CPU, an unlisted GPU)."""
        if self.flops_per_row is None or self.peak_flops is None:
            return None
        return throughput * self.flops_per_row / self.peak_flops


def _device_name(device: str) -> str | None:
    """The GPU's name as nvidia-smi gives it (as the hardware key takes it); None on the CPU or without nvidia-smi."""
    if not device.startswith("cuda"):
        return None
    index = int(device.partition(":")[2] or 0)
    names = nvidia_smi_query("name")
    return names[index] if index < len(names) else None


def time_in_process(artifact: Artifact, spec: ModelSpec, case: SampleCase, seconds: float = SECONDS) -> InProcess:
    """`case` (one request, spec-named) run back to back through `artifact`'s runner for `seconds` after a warm-up.
    The runner returns host arrays, so each run is waited for, as a served request is."""
    runner = load_runner(artifact.format, artifact.path, artifact.device)
    inputs = [case.inputs[s.name].astype(a.dtype) for s, a in zip(spec.inputs, artifact.inputs)]
    for _ in range(WARMUP_RUNS):
        runner.run(inputs)
    runs, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        runner.run(inputs)
        runs += 1
    shapes = {name: array.shape for name, array in case.inputs.items()}
    name = _device_name(artifact.device)
    return InProcess(
        throughput=runs * case.batch_size / elapsed,
        runs=runs,
        flops_per_row=spec.flops_per_row(shapes) if spec.flops_per_row else None,
        peak_flops=peak_flops(name, artifact.precision) if name else None,
    )
