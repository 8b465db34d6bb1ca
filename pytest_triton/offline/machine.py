"""What the GPU machine offers the checks: its GPU (from nvidia-smi and the driver's library), and what its torch,
onnxruntime and TensorRT can run, asked in the environment the checks run in. A GPU that cannot be used is an error
naming the library or the driver version found."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import BundleError
from pytest_triton.offline.commands import run_json

_TIMEOUT_S = 60
_RUNTIMES_TIMEOUT_S = 180  # torch imported with CUDA, and a session opened on each runtime
# Each runtime asked whether it runs, not only whether it is installed: onnxruntime-gpu lists its CUDA provider even
# where its CUDA libraries cannot load, and a TensorRT whose libraries are missing imports and fails later.
_RUNTIMES = """
import json, importlib.metadata as m
import numpy, onnxruntime, torch
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
def ort_cuda():
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers() or not version("onnx"):
        return False
    from onnx import TensorProto, helper
    x, y = (helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]) for name in "xy")
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CUDAExecutionProvider"])
    except Exception:
        return False
    return "CUDAExecutionProvider" in session.get_providers()
def tensorrt():
    try:
        import tensorrt as trt
        trt.Builder(trt.Logger(trt.Logger.ERROR))
        return trt.__version__
    except Exception:
        return None
cuda = torch.cuda.is_available()
print(json.dumps({
    "torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_usable": cuda,
    "device": torch.cuda.get_device_name(0) if cuda else None,
    "bf16": bool(cuda and torch.cuda.get_device_capability(0) >= (8, 0)),
    "onnxruntime": onnxruntime.__version__,
    "providers": [p for p in onnxruntime.get_available_providers() if p != "CUDAExecutionProvider" or ort_cuda()],
    "tensorrt": tensorrt() if cuda else None, "onnx": version("onnx") if version("onnxscript") else None,
    "numpy": numpy.__version__,
}))
"""


@dataclass(frozen=True)
class Gpu:
    name: str
    driver: str
    memory: str


@dataclass(frozen=True)
class Runtimes:
    torch: str
    torch_cuda: str | None
    cuda_usable: bool
    device: str | None
    bf16: bool  # natively: compute capability 8.0 or later (torch's own check counts emulation)
    onnxruntime: str
    providers: tuple[str, ...]
    tensorrt: str | None
    onnx: str | None  # with onnxscript beside it: the ONNX export can run
    numpy: str


def find_gpu() -> Gpu:
    """GPU 0 as nvidia-smi reports it; BundleError saying what is missing where none can be seen."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise BundleError("no GPU visible: nvidia-smi is not on PATH (no NVIDIA driver installed here?)")
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError as error:
        raise BundleError(f"no GPU usable: the driver's library libcuda.so.1 cannot be loaded ({error})") from None
    query = [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BundleError(f"no GPU visible: nvidia-smi did not answer ({error})") from None
    rows = [line.split(",") for line in done.stdout.strip().splitlines()]
    gpus = [row for row in rows if len(row) == 3]  # a warning nvidia-smi prints first is not a GPU
    if done.returncode != 0 or not gpus:
        raise BundleError(f"no GPU visible: nvidia-smi says: {(done.stdout + done.stderr).strip()[:500]}")
    name, driver, memory = (part.strip() for part in gpus[0])
    return Gpu(name, driver, memory)


def runtimes(python: Path, gpu: Gpu | None) -> Runtimes:
    """What `python`'s torch, onnxruntime and TensorRT offer; with a GPU, torch must be able to use it."""
    found = run_json(
        [str(python), "-c", _RUNTIMES], "asking torch, onnxruntime and TensorRT what they run", _RUNTIMES_TIMEOUT_S
    )
    found["providers"] = tuple(found["providers"])
    runtimes = Runtimes(**found)
    if gpu is not None and not runtimes.cuda_usable:
        raise BundleError(
            f"torch {runtimes.torch} cannot use the GPU ({gpu.name}): it is built for CUDA {runtimes.torch_cuda}, and "
            f"the driver here is {gpu.driver}; install a torch built for the CUDA this driver supports"
        )
    return runtimes
