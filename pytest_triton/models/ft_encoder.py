"""A BERT encoder served with FasterTransformer's BERT backend contract: `input_hidden_state` [batch, seq, hidden]
and `sequence_length` [batch, 1] (int32) in, `output_hidden_state` [batch, seq, hidden] out, in the precision the
deployment's data type says. The reference is transformers' BERT encoder layers on the same hidden states with the
attention mask the lengths imply; positions past a row's length carry nothing and are not compared, as
FasterTransformer's identity test leaves them out.

Weights are random from a fixed seed, or a Hugging Face BERT checkpoint's (any BERT head: the encoder is read): a
real deployment was converted from one, and its sizes are the checkpoint's."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.models.bert import SEED, SIZES, BertSize
from pytest_triton.models.encoder_contract import CONTRACT, EncoderNames, served_hidden_size
from pytest_triton.models.served import served_tensor
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, seeded_generator

_OPTION = ("triton_checkpoint",)
# Sequence lengths of a checkpoint's cases where no zoo size names them: FasterTransformer's identity test sends 32.
CHECKPOINT_SEQUENCES = (32, 128)
# The largest sample batch, whatever the deployment takes (FasterTransformer's BERT config says 1024).
SAMPLE_BATCH = 8


class EncoderFT(torch.nn.Module):
    """(input_hidden_state, sequence_length) -> output_hidden_state through transformers' BertLayer stack."""

    def __init__(self, layers: torch.nn.ModuleList) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        padding = positions.unsqueeze(0) >= lengths.reshape(-1, 1).to(positions.dtype)  # [batch, seq]
        # Additive, as eager attention adds it to the scores: a key past a row's length gets no weight.
        bias = padding.to(hidden.dtype)[:, None, None, :] * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            out = layer(hidden, bias)
            hidden = out[0] if isinstance(out, tuple) else out  # a tuple before transformers 5
        return hidden


def checkpoint_size(checkpoint: Path, model: str) -> BertSize:
    """The encoder sizes a Hugging Face BERT checkpoint directory declares in its config.json."""
    from transformers import BertConfig

    def refuse(reason: str) -> TritonPluginError:
        return TritonPluginError(
            f"{model}'s checkpoint {checkpoint} is not a Hugging Face BERT directory ({reason}); give the directory "
            "(config.json and weights) the deployment's weights were converted from",
            options=_OPTION,
        )

    # transformers reads a directory without config.json as BERT-base's defaults: not what the deployment holds.
    file = checkpoint / "config.json"
    try:
        declared = json.loads(file.read_text()).get("model_type", "bert")
        if declared != "bert":
            raise refuse(f"its config.json says model_type {declared!r}")
        config = BertConfig.from_pretrained(str(checkpoint))
    except (OSError, ValueError, AttributeError) as error:
        raise refuse(str(error).strip().splitlines()[0]) from None
    return BertSize(
        config.hidden_size,
        config.num_hidden_layers,
        config.num_attention_heads,
        config.intermediate_size,
        CHECKPOINT_SEQUENCES,
    )


def _build(size: BertSize, checkpoint: Path | None, model: str) -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    if checkpoint is not None:
        try:
            # fp32 whatever the checkpoint was saved in: transformers 5 loads a checkpoint in its own dtype.
            bert = BertModel.from_pretrained(
                str(checkpoint), add_pooling_layer=False, attn_implementation="eager", dtype=torch.float32
            )
        except (OSError, ValueError, RuntimeError) as error:
            raise TritonPluginError(
                f"{model}: cannot load the BERT weights in {checkpoint} ({str(error).strip().splitlines()[0]})",
                options=_OPTION,
            ) from None
        return EncoderFT(bert.encoder.layer).eval()
    config = BertConfig(
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.intermediate,
        attn_implementation="eager",
    )
    torch.manual_seed(SEED)
    return EncoderFT(BertModel(config, add_pooling_layer=False).encoder.layer).eval()


def _samples(size: BertSize, max_batch_size: int, names: EncoderNames) -> list[SampleCase]:
    rng = seeded_generator(SEED)
    shortest, *_, longest = size.sequence_lengths
    cases = []
    largest = min(max_batch_size, SAMPLE_BATCH)
    # Once each: a deployment of max_batch_size 1 would otherwise get two cases of one label.
    for batch, seq in dict.fromkeys([(1, shortest), (min(4, largest), longest), (largest, longest)]):
        # Hidden states as a LayerNorm leaves them; lengths from a few tokens to the whole row, one row full.
        hidden = rng.standard_normal((batch, seq, size.hidden)).astype(np.float32)
        lengths = rng.integers(max(1, seq // 8), seq + 1, size=(batch, 1)).astype(np.int32)
        lengths[0, 0] = seq
        real = np.arange(seq)[None, :] < lengths
        compared = {names.output: np.broadcast_to(real[:, :, None], hidden.shape).copy()}
        inputs = {names.hidden: hidden, names.lengths: lengths}
        cases.append(SampleCase(batch, f"b{batch}-s{seq}-lengths", inputs, compared))
    return cases


def ft_encoder_spec(
    size_name: str | None,
    checkpoint: Path | None = None,
    max_batch_size: int = 8,
    *,
    name: str | None = None,
    names: EncoderNames = CONTRACT,
) -> ModelSpec:
    """The encoder under FasterTransformer's tensor contract (`names`): of a zoo BERT size with random weights from
    a fixed seed, or of a checkpoint's weights and sizes (as bert-* takes a checkpoint's: a size names the sample
    sequence lengths then)."""
    name = name or f"bert-encoder-{size_name}"
    if checkpoint is None:
        if size_name is None:
            raise ValueError("ft_encoder_spec needs a BERT size or a checkpoint")
        size = SIZES[size_name]
    else:
        size = checkpoint_size(checkpoint, name)
        if size_name is not None:
            size = BertSize(size.hidden, size.layers, size.heads, size.intermediate, SIZES[size_name].sequence_lengths)
    weights = "random weights" if checkpoint is None else f"the weights of {checkpoint}"
    return ModelSpec(
        name=name,
        family="ft-encoder",
        build=lambda: _build(size, checkpoint, name),
        inputs=(TensorSpec(names.hidden, "float32", (-1, size.hidden)), TensorSpec(names.lengths, "int32", (1,))),
        outputs=(TensorSpec(names.output, "float32", (-1, size.hidden)),),
        make_samples=lambda: _samples(size, max_batch_size, names),
        max_batch_size=max_batch_size,
        unsupported_formats={
            "ts-script": "the encoder's transformers layers are not scriptable by torch.jit.script; its TorchScript "
            "export is ts-trace",
        },
        description=f"BERT encoder {size.layers}x{size.hidden} ({weights}), FasterTransformer's tensor contract",
    )


def served_encoder_spec(
    name: str, metadata: Mapping[str, Any], names: EncoderNames, max_batch_size: int, checkpoint: Path
) -> ModelSpec:
    """A served encoder of the contract under the names it serves and with the dims it declares (FasterTransformer
    declares no hidden size), its reference the checkpoint's encoder; a clear error where the server declares
    another hidden size than the checkpoint's."""
    if max_batch_size < 1:
        raise Unsupported(
            f"model '{name}' serves FasterTransformer's encoder contract without batching (max_batch_size 0); the "
            "check sends rows of a batch, as FasterTransformer's own deployments take them"
        )
    spec = ft_encoder_spec(None, checkpoint, max_batch_size, name=name, names=names)
    served = served_hidden_size(metadata, names)
    hidden = spec.inputs[0].dims[-1]
    if served is not None and served != hidden:
        raise TritonPluginError(
            f"model '{name}' takes hidden states of size {served}, and its checkpoint {checkpoint} has hidden size "
            f"{hidden}: give the checkpoint the deployment was converted from",
            options=_OPTION,
        )
    dims = {t["name"]: served_tensor(name, t, 1).dims for key in ("inputs", "outputs") for t in metadata[key]}

    def as_served(tensors: tuple[TensorSpec, ...]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(t.name, t.dtype, dims[t.name]) for t in tensors)

    return dataclasses.replace(spec, inputs=as_served(spec.inputs), outputs=as_served(spec.outputs))
