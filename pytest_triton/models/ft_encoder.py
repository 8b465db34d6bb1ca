"""A BERT encoder served with FasterTransformer's BERT backend contract: `input_hidden_state` [batch, seq, hidden]
and `sequence_length` [batch, 1] (int32) in, `output_hidden_state` [batch, seq, hidden] out, in the precision the
deployment's data type says. The reference is transformers' BERT encoder layers on the same hidden states with the
attention mask the lengths imply; positions past a row's length carry nothing and are not compared, as
FasterTransformer's identity test leaves them out."""

from __future__ import annotations

import numpy as np
import torch

from pytest_triton.models.bert import SEED, SIZES, BertSize
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, seeded_generator

INPUTS = ("input_hidden_state", "sequence_length")
OUTPUT = "output_hidden_state"


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


def _build(size: BertSize) -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.intermediate,
        attn_implementation="eager",
    )
    torch.manual_seed(SEED)
    return EncoderFT(BertModel(config, add_pooling_layer=False).encoder.layer).eval()


def _samples(size: BertSize, max_batch_size: int) -> list[SampleCase]:
    rng = seeded_generator(SEED)
    shortest, *_, longest = size.sequence_lengths
    cases = []
    for batch, seq in [(1, shortest), (min(4, max_batch_size), longest), (max_batch_size, longest)]:
        # Hidden states as a LayerNorm leaves them; lengths from a few tokens to the whole row, one row full.
        hidden = rng.standard_normal((batch, seq, size.hidden)).astype(np.float32)
        lengths = rng.integers(max(1, seq // 8), seq + 1, size=(batch, 1)).astype(np.int32)
        lengths[0, 0] = seq
        real = np.arange(seq)[None, :] < lengths
        compared = {OUTPUT: np.broadcast_to(real[:, :, None], hidden.shape).copy()}
        inputs = {"input_hidden_state": hidden, "sequence_length": lengths}
        cases.append(SampleCase(batch, f"b{batch}-s{seq}-lengths", inputs, compared))
    return cases


def ft_encoder_spec(size_name: str, max_batch_size: int = 8) -> ModelSpec:
    """The encoder of one BERT size under FasterTransformer's tensor names, random weights from a fixed seed."""
    size = SIZES[size_name]
    return ModelSpec(
        name=f"bert-encoder-{size_name}",
        family="ft-encoder",
        build=lambda: _build(size),
        inputs=(
            TensorSpec("input_hidden_state", "float32", (-1, size.hidden)),
            TensorSpec("sequence_length", "int32", (1,)),
        ),
        outputs=(TensorSpec(OUTPUT, "float32", (-1, size.hidden)),),
        make_samples=lambda: _samples(size, max_batch_size),
        max_batch_size=max_batch_size,
        unsupported_formats={
            "ts-script": "the encoder's transformers layers are not scriptable by torch.jit.script; its TorchScript "
            "export is ts-trace",
        },
        description=f"BERT encoder {size.layers}x{size.hidden}, FasterTransformer's tensor contract",
    )
