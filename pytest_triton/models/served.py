"""Specs of served models that nobody declared: the signature as the server reports it, seeded samples in
sensible ranges, no reference module and no torch."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.models.encoder_contract import served_names
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, dims_fit, seeded_generator
from pytest_triton.models.synthetic import synthetic_array

SERVED_FAMILY = "served"
# A variable dimension takes this size unless --triton-input-shape gives one: small enough for any model to answer
# quickly, large enough that a sequence model sees more than one position.
DEFAULT_VARIABLE_DIM = 8
# Sample batch sizes of a batching model: one row, and a few (capped by its max_batch_size) for batch checks.
_SAMPLE_BATCHES = (1, 4)

# Triton wire datatypes -> numpy names. numpy has no bfloat16: tritonclient from r26.06 on reads and writes BF16 as
# ml_dtypes' bfloat16, which registers the name "bfloat16" with numpy when imported.
_DTYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "BF16": "bfloat16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object_",
}


def unread_spec(name: str) -> ModelSpec:
    """A served model known by name only, until the session reads its signature from the server."""
    return ModelSpec(
        name=name,
        family=SERVED_FAMILY,
        build=None,
        inputs=(),
        outputs=(),
        make_samples=list,
        from_server=True,
        description="signature read from the server",
    )


def served_spec(
    name: str,
    metadata: Mapping[str, Any],
    max_batch_size: int,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> ModelSpec:
    """The spec of a served model from its metadata (names, datatypes, shapes with the batch dimension where it
    batches) and its config's max_batch_size. `shapes` gives sizes for variable dims, by `model/input` or
    `input`; the rest take DEFAULT_VARIABLE_DIM."""
    batch = 1 if max_batch_size > 0 else 0
    inputs = tuple(served_tensor(name, t, batch) for t in metadata.get("inputs", []))
    outputs = tuple(served_tensor(name, t, batch) for t in metadata.get("outputs", []))
    if not inputs or not outputs:
        raise Unsupported(f"model '{name}': the server reports no inputs or no outputs, so there is nothing to send")
    sizes = {t.name: _sample_dims(name, t, shapes or {}) for t in inputs}
    seed = zlib.crc32(name.encode())

    def make_samples() -> list[SampleCase]:
        rng = seeded_generator(seed)
        batches = sorted({min(b, max_batch_size) for b in _SAMPLE_BATCHES}) if max_batch_size > 0 else [0]
        return [
            SampleCase(
                batch_size=max(b, 1),
                label=f"b{b}" if b else "nobatch",
                inputs={
                    t.name: synthetic_array(t.name, t.dtype, ((b,) if b else ()) + sizes[t.name], rng) for t in inputs
                },
            )
            for b in batches
        ]

    return ModelSpec(
        name=name,
        family=SERVED_FAMILY,
        build=None,
        inputs=inputs,
        outputs=outputs,
        make_samples=make_samples,
        max_batch_size=max_batch_size,
        description="signature read from the server",
    )


def spec_from_server(
    name: str,
    metadata: Mapping[str, Any],
    max_batch_size: int,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    checkpoint: Path | None = None,
) -> ModelSpec:
    """The spec of a served model nobody declared: one serving FasterTransformer's BERT encoder contract is held to
    the Hugging Face checkpoint given for it (torch is imported then); any other is known by its signature alone."""
    names = served_names(metadata)
    if names is not None and checkpoint is not None:
        from pytest_triton.models.ft_encoder import served_encoder_spec

        return served_encoder_spec(name, metadata, names, max_batch_size, checkpoint)
    if checkpoint is not None:
        raise TritonPluginError(
            f"a checkpoint is given for model '{name}', but its signature is not one a checkpoint builds a reference "
            "for (FasterTransformer's BERT encoder contract: input_hidden_state and sequence_length(s) in, "
            "output_hidden_state out); leave the checkpoint out, or declare the model in a pytest_triton_models hook",
            options=("triton_checkpoint",),
        )
    if names is not None:
        # Generic samples would send lengths past their rows and a made-up hidden size: only the checkpoint knows.
        raise Unsupported(
            f"'{name}' serves FasterTransformer's BERT encoder contract: give the Hugging Face BERT checkpoint its "
            "weights were converted from, to send it hidden states of its size and compare it with transformers' "
            "encoder layers",
            options=("triton_checkpoint",),
        )
    return served_spec(name, metadata, max_batch_size, shapes)


def served_tensor(model: str, metadata: Mapping[str, Any], batch: int = 0) -> TensorSpec:
    """One tensor of a model's metadata as a TensorSpec, without its first `batch` dims. Unsupported for a
    datatype the checks cannot generate or compare."""
    datatype = metadata.get("datatype", "")
    if datatype == "BF16" and not _client_reads_bfloat16():
        raise Unsupported(
            f"model '{model}': tensor '{metadata.get('name')}' is BF16, which this tritonclient sends as truncated "
            "float32; install tritonclient 2.73 or later, which takes ml_dtypes' bfloat16"
        )
    if datatype not in _DTYPES:
        raise Unsupported(
            f"model '{model}': tensor '{metadata.get('name')}' has datatype {datatype or 'none'}, which the checks "
            f"cannot generate or compare yet (they know {', '.join(_DTYPES)})"
        )
    # gRPC's metadata gives dims as strings, HTTP's as numbers; the batch dimension is not part of the spec.
    dims = tuple(int(d) for d in metadata.get("shape", []))[batch:]
    return TensorSpec(str(metadata["name"]), _DTYPES[datatype], dims)


def _client_reads_bfloat16() -> bool:
    """Whether tritonclient maps BF16 to ml_dtypes' bfloat16 (from r26.06 on), whose import registers the name
    "bfloat16" with numpy."""
    from tritonclient.utils import triton_to_np_dtype

    return getattr(triton_to_np_dtype("BF16"), "__name__", "") == "bfloat16"


def _sample_dims(model: str, tensor: TensorSpec, shapes: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    given = shapes.get(f"{model}/{tensor.name}", shapes.get(tensor.name))
    if given is None:
        return tuple(DEFAULT_VARIABLE_DIM if d < 0 else d for d in tensor.dims)
    if not dims_fit(tensor.dims, given):
        raise TritonPluginError(
            f"model '{model}': the shape {'x'.join(map(str, given))} given for input '{tensor.name}' does not fit "
            f"its dims {list(tensor.dims)}; give one size per dimension (-1 any), without the batch dimension",
            options=("triton_input_shape",),
        )
    return tuple(given)
