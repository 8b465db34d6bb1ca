"""One exporter per format: TorchScript (script, trace), ONNX, and a TensorRT plan built from the ONNX file.

torch is imported where an export runs: the format registry imports this module and must stay light.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, Protocol

from pytest_triton.errors import Unsupported
from pytest_triton.models.spec import ModelSpec

if TYPE_CHECKING:
    import numpy as np
    import torch

ONNX_OPSET = 17


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the eager fp32 module of `spec`, in `precision`, for `device` ("cpu" or "cuda:N")."""

    spec: ModelSpec
    module: torch.nn.Module
    precision: str
    device: str
    example: Mapping[str, np.ndarray]

    def prepared(self) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
        """A copy of the module and example inputs cast to the precision and moved to the device."""
        import torch

        module = copy.deepcopy(self.module).to(self.device)
        if self.precision == "fp16":
            module = module.half()
        elif self.precision == "bf16":
            from pytest_triton.export.bfloat16 import Bfloat16Compute

            module = Bfloat16Compute(module)
        tensors = []
        for tensor_spec in self.spec.inputs:
            array = self.example[tensor_spec.name].astype(tensor_spec.at_precision(self.precision).dtype)
            tensors.append(torch.from_numpy(array).to(self.device))
        return module.eval(), tuple(tensors)


class Exporter(Protocol):
    def check_supported(self, precision: str, device: str) -> None:
        """Raise Unsupported for a precision or device this format cannot be built for."""

    def export(self, request: ExportRequest, target: Path) -> None:
        """Write the artifact to `target`."""


class TorchScriptExporter:
    def __init__(self, trace: bool) -> None:
        self._trace = trace

    def check_supported(self, precision: str, device: str) -> None:
        """TorchScript runs everywhere torch does; fp16 and bf16 are checked by running the artifact."""
        if precision == "bf16" and not self._trace:
            raise Unsupported(
                "bf16 as ts-script: torch.jit.script cannot compile the bfloat16 casts around a model's inputs "
                "(they take any number); its bf16 TorchScript export is ts-trace"
            )

    def export(self, request: ExportRequest, target: Path) -> None:
        import torch

        module, inputs = request.prepared()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow are expected
            if self._trace:
                exported = torch.jit.trace(module, inputs, check_trace=False)
            else:
                exported = torch.jit.script(module)
        exported.save(str(target))


class OnnxExporter:
    def check_supported(self, precision: str, device: str) -> None:
        """onnxruntime support for the precision on the device is checked by running the artifact."""

    def export(self, request: ExportRequest, target: Path) -> None:
        import torch

        module, inputs = request.prepared()
        spec = request.spec
        # The batch is dynamic where the model batches; every dim the spec marks -1 (BERT's sequence) is dynamic too.
        batch = 1 if spec.max_batch_size > 0 else 0  # how many leading axes the spec's dims leave out
        dynamic = {
            t.name: {
                **({0: "batch"} if batch else {}),
                **{i + batch: f"{t.name}_d{i + batch}" for i, d in enumerate(t.dims) if d == -1},
            }
            for t in (*spec.inputs, *spec.outputs)
        }
        with torch.no_grad(), warnings.catch_warnings(), _native_output_discarded():
            warnings.simplefilter("ignore")
            # The TorchScript-based exporter handles dynamic axes of transformers' BERT reliably.
            torch.onnx.export(
                module,
                inputs,
                str(target),
                input_names=spec.input_names(),
                output_names=spec.output_names(),
                dynamic_axes=dynamic,
                opset_version=ONNX_OPSET,
                dynamo=False,
            )


@contextlib.contextmanager
def _native_output_discarded() -> Iterator[None]:
    """The process's stdout and stderr discarded: torch's ONNX exporter prints the whole TorchScript graph from C++
    before it raises on an operator it cannot export (dozens of lines in a test report), and the error says what."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        with open(os.devnull, "wb") as devnull:
            for fd in saved:
                os.dup2(devnull.fileno(), fd)
        yield
    finally:
        for fd, copy_of in saved.items():
            os.dup2(copy_of, fd)
            os.close(copy_of)


class TensorRTExporter:
    def check_supported(self, precision: str, device: str) -> None:
        if not device.startswith("cuda"):
            raise Unsupported("TensorRT plans need a GPU: run on one", options=("triton_gpu",))
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            raise Unsupported("tensorrt is not installed: pip install 'pytest-triton[tensorrt]'") from None

    def export(self, request: ExportRequest, target: Path) -> None:
        import tensorrt as trt

        spec = request.spec
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = Path(tmp) / "model.onnx"
            # Build from an fp32 ONNX file; TensorRT itself lowers to fp16 with the FP16 flag.
            OnnxExporter().export(
                ExportRequest(spec, request.module, "fp32", request.device, request.example), onnx_path
            )
            logger = trt.Logger(trt.Logger.ERROR)
            builder = trt.Builder(logger)
            network = builder.create_network(0)
            parser = trt.OnnxParser(network, logger)
            if not parser.parse(onnx_path.read_bytes()):
                errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
                raise RuntimeError(f"TensorRT could not parse the ONNX export: {errors}")
            config = builder.create_builder_config()
            if request.precision == "fp16":
                config.set_flag(trt.BuilderFlag.FP16)
            elif request.precision == "bf16":
                config.set_flag(trt.BuilderFlag.BF16)
            profile = builder.create_optimization_profile()
            batch = 1 if spec.max_batch_size > 0 else 0  # a model without batching has no batch axis
            for tensor_spec in spec.inputs:
                example = request.example[tensor_spec.name].shape
                low = (1,) * batch + tuple(1 if d == -1 else d for d in tensor_spec.dims)
                high = (spec.max_batch_size,) * batch + tuple(
                    example[i + batch] if d == -1 else d for i, d in enumerate(tensor_spec.dims)
                )
                profile.set_shape(tensor_spec.name, low, high, high)
            config.add_optimization_profile(profile)
            plan = builder.build_serialized_network(network, config)
            if plan is None:
                raise RuntimeError("TensorRT failed to build an engine; its log above says why")
            target.write_bytes(bytes(plan))
