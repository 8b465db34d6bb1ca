"""The names every layer shares: export formats, precisions, protocols and launch modes.

Kept free of heavy imports on purpose: the plugin validates options against them before anything is exported,
served or imported from torch.
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["ts-script", "ts-trace", "onnx", "trt"]
Precision = Literal["fp32", "fp16"]
Protocol = Literal["grpc", "http"]
LaunchMode = Literal["local", "remote", "docker"]

FORMATS: tuple[Format, ...] = get_args(Format)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
LAUNCH_MODES: tuple[LaunchMode, ...] = get_args(LaunchMode)
