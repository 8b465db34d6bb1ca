"""BERT for extractive question answering (transformers' BertForQuestionAnswering) in three sizes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pytest_triton.models.checkpoint import load_state_dict
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, seeded_generator


@dataclass(frozen=True)
class BertSize:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    # Sequence lengths the parity cases use; the longest is padded in some rows.
    sequence_lengths: tuple[int, ...]


SIZES = {
    "tiny": BertSize(hidden=128, layers=2, heads=2, intermediate=512, sequence_lengths=(16, 64, 128)),
    "base": BertSize(hidden=768, layers=12, heads=12, intermediate=3072, sequence_lengths=(128, 384)),
    "large": BertSize(hidden=1024, layers=24, heads=16, intermediate=4096, sequence_lengths=(128, 384)),
}
VOCAB_SIZE = 30522
MAX_POSITIONS = 512
SEED = 0


class BertQA(torch.nn.Module):
    """Positional (input_ids, token_type_ids, attention_mask) -> (start_logits, end_logits), as exports need."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask, return_dict=False
        )
        return out[0], out[1]


def _build(size: BertSize, checkpoint: Path | None, name: str) -> torch.nn.Module:
    from transformers import BertConfig, BertForQuestionAnswering

    if checkpoint is not None and checkpoint.is_dir():
        # Hugging Face directories: a user's checkpoint, or the shipped tiny QA model.
        # fp32 whatever the checkpoint was saved in: transformers 5 loads a checkpoint in its own dtype.
        model = BertForQuestionAnswering.from_pretrained(
            str(checkpoint), attn_implementation="eager", dtype=torch.float32
        )
    else:
        config = BertConfig(
            vocab_size=VOCAB_SIZE,
            hidden_size=size.hidden,
            num_hidden_layers=size.layers,
            num_attention_heads=size.heads,
            intermediate_size=size.intermediate,
            max_position_embeddings=MAX_POSITIONS,
            attn_implementation="eager",
        )
        torch.manual_seed(SEED)
        model = BertForQuestionAnswering(config)
        if checkpoint is not None:
            load_state_dict(checkpoint, model, name)
    return BertQA(model).eval()


def _samples(size: BertSize, max_batch_size: int, vocabulary: tuple[int, int]) -> list[SampleCase]:
    vocab_size, cls_id = vocabulary
    rng = seeded_generator(SEED)
    cases = []
    shortest, *_, longest = size.sequence_lengths
    plan = [(1, shortest, False)] + [(min(4, max_batch_size), n, False) for n in size.sequence_lengths[1:]]
    plan.append((max_batch_size, longest, True))
    for batch, seq, padded in plan:
        # Ordinary word pieces: past the special tokens (and, in the large vocabularies, past [unused]).
        ids = rng.integers(1000 if vocab_size > 2000 else 5, vocab_size, size=(batch, seq), dtype=np.int64)
        ids[:, 0] = cls_id
        types = np.zeros((batch, seq), dtype=np.int64)
        types[:, seq // 3 :] = 1
        mask = np.ones((batch, seq), dtype=np.int64)
        if padded:
            # Rows of different real lengths, zero-padded to the longest, as a QA batch arrives.
            for row, length in enumerate(rng.integers(seq // 4, seq, size=batch)):
                mask[row, length:] = 0
                ids[row, length:] = 0
                types[row, length:] = 0
        label = f"b{batch}-s{seq}" + ("-padded" if padded else "")
        inputs = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
        # Logits at padded positions are never read as answers: parity only asks them to be finite.
        real = mask.astype(bool)
        cases.append(SampleCase(batch, label, inputs, compared={"start_logits": real, "end_logits": real}))
    return cases


def _vocabulary(checkpoint: Path | None) -> tuple[int, int]:
    """(vocabulary size, [CLS] id): the standard BERT vocabulary's, or a checkpoint directory's own."""
    if checkpoint is not None and checkpoint.is_dir():
        from transformers import AutoTokenizer, BertConfig

        size = BertConfig.from_pretrained(str(checkpoint)).vocab_size
        cls_id = AutoTokenizer.from_pretrained(str(checkpoint)).cls_token_id
        return size, cls_id if cls_id is not None else 0
    return VOCAB_SIZE, 101


def encoder_flops(size: BertSize, sequence: int) -> float:
    """FLOPs of one sequence through the encoder, two per multiply-add: the Q, K, V and output projections (8 s h^2),
    the feed-forward pair (4 s h i) and attention's two products (4 s^2 h), per layer. Embeddings, softmax, layer
    norms and the QA head are left out, as MFU figures leave them out."""
    h, i, s = size.hidden, size.intermediate, sequence
    return float(size.layers * (8 * s * h * h + 4 * s * h * i + 4 * s * s * h))


def bert_spec(
    size_name: str,
    checkpoint: Path | None = None,
    max_batch_size: int = 8,
    *,
    trained: Callable[[], Path] | None = None,
) -> ModelSpec:
    """The BERT QA spec of one size: a checkpoint's weights where given, else the model `trained` returns
    (a Hugging Face directory, looked up on first use), else random weights from a fixed seed."""
    size = SIZES[size_name]
    name = f"bert-{size_name}"

    @functools.cache
    def weights() -> Path | None:
        return checkpoint if checkpoint is not None or trained is None else trained()

    def tokenizer_dir() -> Path | None:
        path = weights()
        return path if path is not None and path.is_dir() else None

    return ModelSpec(
        name=name,
        family="bert",
        build=lambda: _build(size, weights(), name),
        inputs=tuple(TensorSpec(n, "int64", (-1,)) for n in ("input_ids", "token_type_ids", "attention_mask")),
        outputs=(TensorSpec("start_logits", "float32", (-1,)), TensorSpec("end_logits", "float32", (-1,))),
        make_samples=lambda: _samples(size, max_batch_size, _vocabulary(weights())),
        max_batch_size=max_batch_size,
        unsupported_formats={
            "ts-script": "transformers' BertForQuestionAnswering is not scriptable by torch.jit.script "
            "(it uses Python features TorchScript lacks); its TorchScript export is ts-trace",
        },
        description=f"BertForQuestionAnswering {size.layers}x{size.hidden}",
        tokenizer_dir=tokenizer_dir,
        flops_per_row=lambda shapes: encoder_flops(size, shapes["input_ids"][1]),
    )
