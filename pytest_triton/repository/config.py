"""config.pbtxt built as Triton's protobuf ModelConfig (as Model Analyzer does), never from string templates."""

from __future__ import annotations

from typing import Mapping

import numpy as np
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.utils import np_to_triton_dtype

from pytest_triton.models.spec import TensorSpec
from pytest_triton.repository.policy import BatchingPolicy, InstancePolicy


def triton_dtype(dtype: str) -> int:
    """numpy dtype name -> ModelConfig DataType enum value."""
    name = np_to_triton_dtype(np.dtype(dtype))
    # The wire protocol says BYTES where ModelConfig says STRING.
    return mc.DataType.Value("TYPE_STRING" if name == "BYTES" else f"TYPE_{name}")


def build_config(
    name: str,
    inputs: tuple[TensorSpec, ...],
    outputs: tuple[TensorSpec, ...],
    max_batch_size: int,
    *,
    platform: str = "",
    backend: str = "",
    default_model_filename: str = "",
    batching: BatchingPolicy = BatchingPolicy(),
    instances: InstancePolicy = InstancePolicy(),
    parameters: Mapping[str, str] | None = None,
    warmup: Mapping[str, tuple[int, ...]] | None = None,
    cuda_graphs: Mapping[str, tuple[int, ...]] | None = None,
) -> mc.ModelConfig:
    """A model config. `warmup`, input name -> the dims of one row (no variable dims): a model_warmup sample of
    zeros, one row, sent to each instance at load. `cuda_graphs`, the same: CUDA graphs captured at load for rows
    of those dims, at each power-of-two batch size up to max_batch_size and at max_batch_size."""
    config = mc.ModelConfig(name=name, max_batch_size=max_batch_size)
    if platform:
        config.platform = platform
    if backend:
        config.backend = backend
    if default_model_filename:
        config.default_model_filename = default_model_filename
    for tensor in inputs:
        config.input.add(name=tensor.name, data_type=triton_dtype(tensor.dtype), dims=list(tensor.dims))
    for tensor in outputs:
        config.output.add(name=tensor.name, data_type=triton_dtype(tensor.dtype), dims=list(tensor.dims))
    if batching.enabled and max_batch_size > 0:
        config.dynamic_batching.preferred_batch_size.extend(batching.preferred_batch_sizes)
        config.dynamic_batching.max_queue_delay_microseconds = batching.max_queue_delay_us
    group = config.instance_group.add(count=instances.count)
    if instances.gpus:
        group.kind = mc.ModelInstanceGroup.KIND_GPU
        group.gpus.extend(instances.gpus)
    else:
        group.kind = mc.ModelInstanceGroup.KIND_CPU
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = value
    if warmup:
        sample = config.model_warmup.add(name="zeros", batch_size=1, count=1)
        for tensor in inputs:
            sample.inputs[tensor.name].data_type = triton_dtype(tensor.dtype)
            sample.inputs[tensor.name].dims.extend(warmup[tensor.name])
            sample.inputs[tensor.name].zero_data = True
    if cuda_graphs:
        config.optimization.cuda.graphs = True
        # A graph replays only the shapes it was captured at: a variable dim takes the samples' size.
        for batch in graph_batch_sizes(max_batch_size):
            graph = config.optimization.cuda.graph_spec.add(batch_size=batch)
            for tensor in inputs:
                graph.input[tensor.name].dim.extend(cuda_graphs[tensor.name])
    return config


def graph_batch_sizes(max_batch_size: int) -> list[int]:
    """The batch sizes CUDA graphs are captured at: 1, 2, 4, ... and max_batch_size itself; 0 without batching."""
    if max_batch_size <= 0:
        return [0]
    return sorted({*(2**k for k in range(max_batch_size.bit_length()) if 2**k <= max_batch_size), max_batch_size})


def to_pbtxt(config: mc.ModelConfig) -> str:
    return text_format.MessageToString(config)


def to_json(config: mc.ModelConfig) -> str:
    """The form the repository API's load request takes as a config override."""
    return json_format.MessageToJson(config, preserving_proto_field_name=True)
