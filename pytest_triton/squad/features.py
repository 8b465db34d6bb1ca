"""Turn SQuAD examples into fixed-length BERT features the way the reference run_squad scripts do.

Layout per feature: [CLS] question [SEP] context-window [SEP] [PAD]..., token_type_ids 0 up to and including the
first [SEP] and 1 for the window and the last [SEP]. Long contexts are cut into windows `doc_stride` tokens apart;
each context token is "max context" in the window where it has the most surrounding context. Instead of the
reference's whitespace tokens and original-text reconstruction, the fast tokenizer's offset mapping links each
token straight to its characters in the context.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from tokenizers import Tokenizer

from pytest_triton.squad.data import Example

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

MODEL_INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")


@dataclass(frozen=True, eq=False)
class Feature:
    """One model input window of one example, with what post-processing needs to map logits back to text."""

    example_index: int
    window_index: int
    input_ids: np.ndarray  # int64 [max_seq_length]
    token_type_ids: np.ndarray  # int64 [max_seq_length]
    attention_mask: np.ndarray  # int64 [max_seq_length]
    offsets: np.ndarray  # int64 [max_seq_length, 2]: [start, end) in the context, -1 for non-context tokens
    token_is_max_context: np.ndarray  # bool [max_seq_length]: False for non-context tokens

    def is_context(self, position: int) -> bool:
        """Return whether the token at `position` belongs to the context window."""
        return bool(self.offsets[position, 0] >= 0)


class _Window(NamedTuple):
    start: int  # index of the first context token of the window
    length: int


def make_features(
    examples: Sequence[Example],
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
) -> list[Feature]:
    """Tokenize examples into padded windows; features of one example are consecutive and in window order."""
    if doc_stride < 1:
        raise ValueError(f"doc_stride must be at least 1, got {doc_stride}")
    # A private copy of the Rust tokenizer: no truncation/padding state and no length warnings for long contexts.
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_truncation()
    backend.no_padding()
    special = _special_ids(tokenizer)
    # Batch-encode in Rust: every question, and each paragraph once (SQuAD asks several questions in a row about it).
    questions = backend.encode_batch([example.question for example in examples], add_special_tokens=False)
    paragraph_of: list[int] = []
    paragraphs: list[str] = []
    for example in examples:
        if not paragraphs or paragraphs[-1] != example.context:
            paragraphs.append(example.context)
        paragraph_of.append(len(paragraphs) - 1)
    contexts = backend.encode_batch(paragraphs, add_special_tokens=False)
    features: list[Feature] = []
    for example_index, (question, paragraph) in enumerate(zip(questions, paragraph_of, strict=True)):
        query_ids = question.ids[:max_query_length]
        context = contexts[paragraph]
        max_tokens_for_doc = max_seq_length - len(query_ids) - 3
        if max_tokens_for_doc <= 0:
            raise ValueError(
                f"max_seq_length {max_seq_length} leaves no room for the context after a "
                f"{len(query_ids)}-token question; raise max_seq_length or lower max_query_length"
            )
        windows = list(_windows(len(context.ids), max_tokens_for_doc, doc_stride))
        owner = _max_context_owner(windows, len(context.ids))
        offsets = np.asarray(context.offsets, dtype=np.int64).reshape(-1, 2)
        ids = np.asarray(context.ids, dtype=np.int64)
        for window_index, window in enumerate(windows):
            features.append(
                _feature(example_index, window_index, window, query_ids, ids, offsets, owner, special, max_seq_length)
            )
    return features


def window_settings(max_seq_length: int) -> tuple[int, int]:
    """(doc_stride, max_query_length): BERT's reference 128 and 64 at length 384 and above; for a shorter model,
    half its length as stride and a quarter for the question (what the tiny model trains with)."""
    return (128, 64) if max_seq_length >= 384 else (max_seq_length // 2, max_seq_length // 4)


def model_inputs(features: Sequence[Feature]) -> dict[str, np.ndarray]:
    """Stack features into int64 arrays [batch, max_seq_length] named input_ids, token_type_ids, attention_mask."""
    return {name: np.stack([getattr(feature, name) for feature in features]) for name in MODEL_INPUT_NAMES}


class _SpecialIds(NamedTuple):
    cls: int
    sep: int
    pad: int


def _special_ids(tokenizer: PreTrainedTokenizerBase) -> _SpecialIds:
    ids = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    if not all(isinstance(token_id, int) for token_id in ids):
        raise ValueError("the tokenizer needs [CLS], [SEP] and [PAD] tokens for BERT-style QA features")
    return _SpecialIds(*ids)


def _windows(n_tokens: int, max_tokens_for_doc: int, doc_stride: int) -> Iterator[_Window]:
    """Yield the reference script's doc spans; an empty context still gets one (empty) window so it is answered."""
    start = 0
    while True:
        length = min(n_tokens - start, max_tokens_for_doc)
        yield _Window(start, length)
        if start + length >= n_tokens:
            return
        start += min(length, doc_stride)


def _max_context_owner(windows: Sequence[_Window], n_tokens: int) -> np.ndarray:
    """For each context token, the index of its "max context" window in the reference script's sense.

    A window's score for a token is min(tokens left of it, tokens right of it) + 0.01 * window length; the first
    window with the highest score owns the token.
    """
    if len(windows) == 1:
        return np.zeros(n_tokens, dtype=np.int64)
    owner = np.full(n_tokens, -1, dtype=np.int64)
    best = np.full(n_tokens, -np.inf)
    for index, window in enumerate(windows):
        positions = np.arange(window.start, window.start + window.length)
        end = window.start + window.length - 1
        score = np.minimum(positions - window.start, end - positions) + 0.01 * window.length
        better = score > best[positions]
        owner[positions[better]] = index
        best[positions[better]] = score[better]
    return owner


def _feature(
    example_index: int,
    window_index: int,
    window: _Window,
    query_ids: Sequence[int],
    context_ids: np.ndarray,
    context_offsets: np.ndarray,
    owner: np.ndarray,
    special: _SpecialIds,
    max_seq_length: int,
) -> Feature:
    first = len(query_ids) + 2  # position of the first context token: after [CLS] question [SEP]
    end = first + window.length
    span = slice(window.start, window.start + window.length)
    input_ids = np.full(max_seq_length, special.pad, dtype=np.int64)
    input_ids[0] = special.cls
    input_ids[1 : first - 1] = query_ids
    input_ids[first - 1] = special.sep
    input_ids[first:end] = context_ids[span]
    input_ids[end] = special.sep
    token_type_ids = np.zeros(max_seq_length, dtype=np.int64)
    token_type_ids[first : end + 1] = 1
    attention_mask = np.zeros(max_seq_length, dtype=np.int64)
    attention_mask[: end + 1] = 1
    offsets = np.full((max_seq_length, 2), -1, dtype=np.int64)
    offsets[first:end] = context_offsets[span]
    max_context = np.zeros(max_seq_length, dtype=bool)
    max_context[first:end] = owner[span] == window_index
    return Feature(example_index, window_index, input_ids, token_type_ids, attention_mask, offsets, max_context)
