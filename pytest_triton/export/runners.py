"""Runs an exported artifact on numpy batches: in-process for checks, and inside Triton's python backend.

One implementation serves both places, so what the generic runner model computes in the server is
exactly what the in-process check ran. Each imports its runtime (torch, onnxruntime, tensorrt) when built:
the format registry names these classes and must stay light. export.formats.load_runner picks one by format.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class ArtifactRunner(Protocol):
    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Inputs positionally in the spec's order; outputs likewise."""


class OnnxRunner:
    def __init__(self, path: Path, device: str, threads: int | None = None) -> None:
        import onnxruntime

        providers: list = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": int(device.partition(":")[2] or 0)}))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        if device.startswith("cuda") and "CUDAExecutionProvider" not in self._session.get_providers():
            raise RuntimeError(f"onnxruntime has no CUDA execution provider here ({onnxruntime.get_device()})")
        self._names = [i.name for i in self._session.get_inputs()]

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self._session.run(None, dict(zip(self._names, inputs)))


class TorchScriptRunner:
    def __init__(self, path: Path, device: str, threads: int | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)  # process-wide; each Triton instance is a stub process of its own

        self._torch = torch
        self._device = torch.device(device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, yet what Triton serves
            self._module = torch.jit.load(str(path), map_location=self._device).eval()

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        torch = self._torch
        with torch.inference_mode():
            outputs = self._module(*(torch.from_numpy(np.ascontiguousarray(a)).to(self._device) for a in inputs))
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        return [o.cpu().numpy() for o in outputs]


class TensorRTRunner:
    def __init__(self, path: Path, device: str, threads: int | None = None) -> None:  # threads: CPU only, unused
        import tensorrt
        import torch

        self._torch = torch
        self._device = torch.device(device)
        runtime = tensorrt.Runtime(tensorrt.Logger(tensorrt.Logger.ERROR))
        self._engine = runtime.deserialize_cuda_engine(path.read_bytes())
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        mode = tensorrt.TensorIOMode
        self._inputs = [n for n in names if self._engine.get_tensor_mode(n) == mode.INPUT]
        self._outputs = [n for n in names if self._engine.get_tensor_mode(n) == mode.OUTPUT]
        self._trt = tensorrt

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        torch = self._torch
        bound = []
        for name, array in zip(self._inputs, inputs):
            tensor = torch.from_numpy(np.ascontiguousarray(array)).to(self._device)
            self._context.set_input_shape(name, tuple(tensor.shape))
            self._context.set_tensor_address(name, tensor.data_ptr())
            bound.append(tensor)
        results = []
        for name in self._outputs:
            dtype = torch.from_numpy(np.empty(0, self._trt.nptype(self._engine.get_tensor_dtype(name)))).dtype
            out = torch.empty(tuple(self._context.get_tensor_shape(name)), dtype=dtype, device=self._device)
            self._context.set_tensor_address(name, out.data_ptr())
            results.append(out)
        stream = torch.cuda.current_stream(self._device)
        self._context.execute_async_v3(stream.cuda_stream)
        stream.synchronize()
        return [r.cpu().numpy() for r in results]


def cpu_threads_per_instance(instances: int) -> int:
    """An equal share of this process's cores for each of `instances` CPU model instances. Left at every core,
    two instances' thread pools spin against each other: on 2 cores, 2 instances served a quarter of what one did."""
    return max(1, len(os.sched_getaffinity(0)) // max(1, instances))
