"""The export formats: one record each says how a format is exported, cached, served natively and run.

Adding a format is its name in kinds.Format and one record here. Importing this module loads no torch,
onnxruntime or tensorrt: Triton's python stub imports it to pick a runner, and loads only the runtime it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

from pytest_triton.export.exporters import ONNX_OPSET, Exporter, OnnxExporter, TensorRTExporter, TorchScriptExporter
from pytest_triton.export.runners import ArtifactRunner, OnnxRunner, TensorRTRunner, TorchScriptRunner
from pytest_triton.kinds import Format


@dataclass(frozen=True)
class ExportFormat:
    name: Format
    file_name: str  # the artifact's file, under the name Triton's native backend looks for
    settings: str  # the exporter's settings as the cache key records them: change it and artifacts are rebuilt
    fp16_io: bool  # an fp16 artifact takes and returns fp16 tensors (else fp32, computing in fp16 inside)
    platform: str  # Triton's native platform for the artifact...
    backend: str  # ...and the backend that provides it, where the server has it (else the python runner serves)
    exporter: Exporter
    runner: Callable[[Path, str, int | None], ArtifactRunner]  # (artifact, device, CPU threads)
    # Distributions whose versions decide the artifact and whether it runs: the cache key records them, so that an
    # upgrade exports again (and a runtime's remembered refusal is asked again).
    runtimes: tuple[str, ...] = ("torch",)


_TS_SCRIPT = ExportFormat(
    name="ts-script",
    file_name="model.pt",
    settings="torchscript-v1",
    fp16_io=True,
    platform="pytorch_libtorch",
    backend="pytorch",
    exporter=TorchScriptExporter(trace=False),
    runner=TorchScriptRunner,
)
_TS_TRACE = replace(_TS_SCRIPT, name="ts-trace", exporter=TorchScriptExporter(trace=True))
_ONNX = ExportFormat(
    name="onnx",
    file_name="model.onnx",
    settings=f"onnx-opset{ONNX_OPSET}-dynamic-batch",
    fp16_io=True,
    platform="onnxruntime_onnx",
    backend="onnxruntime",
    exporter=OnnxExporter(),
    runner=OnnxRunner,
    runtimes=("torch", "onnx", "onnxruntime", "onnxruntime-gpu"),
)
_TRT = ExportFormat(
    name="trt",
    file_name="model.plan",
    settings="tensorrt-from-onnx-v1",
    fp16_io=False,  # TensorRT builds from an fp32 graph and lowers to fp16 inside
    platform="tensorrt_plan",
    backend="tensorrt",
    exporter=TensorRTExporter(),
    runner=TensorRTRunner,
    runtimes=("torch", "onnx", "tensorrt"),
)

EXPORT_FORMATS: Mapping[Format, ExportFormat] = {f.name: f for f in (_TS_SCRIPT, _TS_TRACE, _ONNX, _TRT)}


def export_format(name: str) -> ExportFormat:
    """The record of format `name`; ValueError naming the known formats for any other name."""
    try:
        return EXPORT_FORMATS[name]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"unknown export format {name!r}: expected one of {', '.join(EXPORT_FORMATS)}") from None


def load_runner(fmt: str, path: Path, device: str, threads: int | None = None) -> ArtifactRunner:
    """The runner for artifact format `fmt` on `device` ("cpu" or "cuda:N"); `threads` caps its CPU threads
    (None: the library's default, every core)."""
    return export_format(fmt).runner(path, device, threads)
