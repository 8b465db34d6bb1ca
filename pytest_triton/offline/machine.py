"""What the GPU machine offers the checks: its GPU (from nvidia-smi and the driver's library), and what its torch,
onnxruntime and TensorRT can run, asked in the environment the checks run in. A GPU that cannot be used is an error
naming the library or the driver version found."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import BundleError

_TIMEOUT_S = 60
_RUNTIMES = """
import json, importlib.metadata as m
import numpy, onnxruntime, torch
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
cuda = torch.cuda.is_available()
print(json.dumps({
    "torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_usable": cuda,
    "device": torch.cuda.get_device_name(0) if cuda else None,
    "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
    "onnxruntime": onnxruntime.__version__, "providers": onnxruntime.get_available_providers(),
    "tensorrt": version("tensorrt"), "onnx": version("onnx") if version("onnxscript") else None,
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
    bf16: bool
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
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BundleError(f"no GPU visible: nvidia-smi says: {(done.stdout + done.stderr).strip()[:500]}")
    name, driver, memory = (part.strip() for part in lines[0].split(","))
    return Gpu(name, driver, memory)


def runtimes(python: Path, gpu: Gpu | None) -> Runtimes:
    """What `python`'s torch, onnxruntime and TensorRT offer; with a GPU, torch must be able to use it."""
    try:
        done = subprocess.run([str(python), "-c", _RUNTIMES], capture_output=True, text=True, timeout=_TIMEOUT_S * 3)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BundleError(f"asking torch and onnxruntime what they run: {error}") from None
    if done.returncode != 0:
        raise BundleError(f"torch, onnxruntime or numpy cannot be imported here:\n{done.stderr[-1500:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found["providers"] = tuple(found["providers"])
    runtimes = Runtimes(**found)
    if gpu is not None and not runtimes.cuda_usable:
        raise BundleError(
            f"torch {runtimes.torch} cannot use the GPU ({gpu.name}): it is built for CUDA {runtimes.torch_cuda}, and "
            f"the driver here is {gpu.driver}; install a torch built for the CUDA this driver supports"
        )
    return runtimes
