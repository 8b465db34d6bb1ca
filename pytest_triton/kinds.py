"""The names every layer shares: export formats, precisions, protocols and launch modes.

Kept free of heavy imports on purpose: the plugin validates options against them before anything is exported,
served or imported from torch.
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["ts-script", "ts-trace", "onnx", "trt"]
Precision = Literal["fp32", "fp16", "bf16"]
Protocol = Literal["grpc", "http"]
LaunchMode = Literal["local", "remote", "docker"]

FORMATS: tuple[Format, ...] = get_args(Format)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
LAUNCH_MODES: tuple[LaunchMode, ...] = get_args(LaunchMode)
# What a run checks on the CPU unless told otherwise: there every format is served by the same python runner, and
# TorchScript's fp16 is emulated (two thirds of a default run's time went to TorchScript variants). On a GPU: every
# format.
CPU_FORMATS: tuple[Format, ...] = ("onnx",)
# What a run checks unless told otherwise: bf16 is asked for (--triton-precisions=fp32,fp16,bf16), since few
# runtimes serve it on a CPU and its reference tolerances are the loosest.
DEFAULT_PRECISIONS: tuple[Precision, ...] = ("fp32", "fp16")
# How a config search walks its space (search.strategy.STRATEGIES has one entry per name).
SEARCH_MODES = ("quick", "brute")
# The model the perf check sets a measurement against (perf.reference), loaded where a run may load models: a
# discovery of what a server serves leaves it out.
PERF_REFERENCE_MODEL = "pytest_triton_reference"
# The image docker mode runs where none is given.
DEFAULT_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"
# How long a gRPC stream may go without a response before a decoupled model counts as stalled (one that never sends
# its final flag): --triton-stream-timeout.
STREAM_TIMEOUT_S = 30.0
# The format of a model someone else deployed (remote mode): whatever it was exported as, it is served as it is.
SERVED = "served"


def variant_id(model: str, fmt: str, precision: str, serving_suffix: str = "") -> str:
    """A model as exported and served, e.g. "bert-tiny-onnx-fp16": the served model's name and the first part of
    its baseline ids."""
    return f"{model}-{fmt}-{precision}{serving_suffix}"


def baseline_id(config: str, point: str) -> str:
    """The id a stored baseline is filed under: a configuration and one point of it, e.g.
    "bert-tiny-onnx-fp32-b8-db100us-p4-p8-i2/c4" (perf: a load point) or "bert-tiny-onnx-fp32/synthetic-v1.1"
    (accuracy: an evaluation set). Renaming orphans every committed baseline; tests/baselines/test_baseline_ids.py
    pins them."""
    return f"{config}/{point}"
