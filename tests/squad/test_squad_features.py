"""BERT QA features: layout, windowing with doc_stride, the max-context rule, offsets back into the context."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.squad.data import Answer, Example
from pytest_triton.squad.features import make_features, model_inputs


def _example(question: str, context: str, answer: str | None = None, index: int = 0) -> Example:
    answers = (Answer(answer, context.index(answer)),) if answer else ()
    return Example(f"q{index}", "T", question, context, answers, not answers)


def _answer_tokens(feature, answer: Answer) -> tuple[int, int] | None:
    """Token positions of the first and last token covering the answer, if the window holds all of it."""
    start, end = answer.start, answer.start + len(answer.text)
    inside = feature.offsets[:, 0] >= 0
    first = np.nonzero(inside & (feature.offsets[:, 0] <= start) & (start < feature.offsets[:, 1]))[0]
    last = np.nonzero(inside & (feature.offsets[:, 0] < end) & (end <= feature.offsets[:, 1]))[0]
    return (int(first[0]), int(last[0])) if len(first) and len(last) else None


def test_layout_of_a_short_example(tokenizer):
    example = _example("Where was Zoë born?", "Zoë was born in Kraków near the river.", "Kraków")
    (feature,) = make_features([example], tokenizer, max_seq_length=32)
    question = tokenizer.tokenize(example.question)
    context = tokenizer.tokenize(example.context)
    n_real = 1 + len(question) + 1 + len(context) + 1
    tokens = tokenizer.convert_ids_to_tokens(feature.input_ids[:n_real].tolist())
    assert tokens == ["[CLS]", *question, "[SEP]", *context, "[SEP]"]
    assert (feature.input_ids[n_real:] == tokenizer.pad_token_id).all()
    assert feature.token_type_ids.tolist() == [0] * (len(question) + 2) + [1] * (len(context) + 1) + [0] * (32 - n_real)
    assert feature.attention_mask.tolist() == [1] * n_real + [0] * (32 - n_real)
    for array in (feature.input_ids, feature.token_type_ids, feature.attention_mask):
        assert array.dtype == np.int64 and array.shape == (32,)
    # only context tokens have offsets; each maps to its own characters
    expected_context = [False] * (len(question) + 2) + [True] * len(context) + [False]
    assert [feature.is_context(p) for p in range(n_real)] == expected_context
    first, last = _answer_tokens(feature, example.answers[0])
    assert example.context[feature.offsets[first, 0] : feature.offsets[last, 1]] == "Kraków"
    assert feature.token_is_max_context[first : last + 1].all()


def test_unicode_and_unknown_characters_keep_exact_offsets(tokenizer):
    context = "Zoë lived in 東京 and Kraków; the Éiffel tower stands in Paris."
    (feature,) = make_features([_example("Where?", context)], tokenizer, max_seq_length=64)
    positions = [p for p in range(64) if feature.is_context(p)]
    pieces = [context[feature.offsets[p, 0] : feature.offsets[p, 1]] for p in positions]
    assert "東" in pieces and "京" in pieces  # CJK characters are single tokens ([UNK] here), still located
    assert "".join(pieces) == context.replace(" ", "")
    assert feature.offsets[positions, 1].tolist() == sorted(feature.offsets[positions, 1].tolist())


def test_long_context_is_cut_into_strided_windows(tokenizer):
    # w0..w99 are single tokens; a one-token question leaves 20 - 1 - 3 = 16 context tokens per window.
    context = " ".join(f"w{i}" for i in range(100))
    features = make_features([_example("w1", context)], tokenizer, max_seq_length=20, doc_stride=8)
    starts = list(range(0, 89, 8))  # the last window starts at 88 and reaches the end (88 + 12 = 100)
    assert [f.window_index for f in features] == list(range(len(starts)))
    assert all(f.example_index == 0 for f in features)
    for feature, start in zip(features, starts, strict=True):
        length = min(16, 100 - start)
        window_tokens = tokenizer.convert_ids_to_tokens(feature.input_ids[3 : 3 + length].tolist())
        assert window_tokens == [f"w{i}" for i in range(start, start + length)]
        assert feature.input_ids[3 + length] == tokenizer.sep_token_id


def _reference_owner(starts: list[int], lengths: list[int], token: int) -> int:
    best, owner = -1.0, -1
    for index, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        end = start + length - 1
        if start <= token <= end:
            score = min(token - start, end - token) + 0.01 * length
            if score > best:
                best, owner = score, index
    return owner


def test_each_context_token_is_max_context_in_exactly_one_window(tokenizer):
    context = " ".join(f"w{i}" for i in range(100))
    features = make_features([_example("w1", context)], tokenizer, max_seq_length=20, doc_stride=8)
    owners: dict[int, list[int]] = {}
    for feature in features:
        for position in range(20):
            if feature.is_context(position) and feature.token_is_max_context[position]:
                token = int(context[: feature.offsets[position, 0]].count(" "))
                owners.setdefault(token, []).append(feature.window_index)
    assert sorted(owners) == list(range(100))
    starts = list(range(0, 89, 8))
    lengths = [min(16, 100 - s) for s in starts]
    assert {t: w for t, (w,) in owners.items()} == {t: _reference_owner(starts, lengths, t) for t in range(100)}
    # by hand: token 12 sits 4 from the start of window 1 but only 3 from the end of window 0
    assert owners[12] == [1] and owners[4] == [0] and owners[20] == [2] and owners[95] == [11]


def test_answer_offsets_map_back_in_every_window_that_holds_it(tokenizer):
    context = " ".join(f"w{i % 100}" for i in range(300)) + " Zoë was born in Kraków near the river."
    example = _example("Where was Zoë born?", context, "Kraków near the river")
    features = make_features([example], tokenizer, max_seq_length=64, doc_stride=16)
    holding = [f for f in features if _answer_tokens(f, example.answers[0])]
    assert len(features) > 10 and holding
    for feature in holding:
        first, last = _answer_tokens(feature, example.answers[0])
        assert context[feature.offsets[first, 0] : feature.offsets[last, 1]] == "Kraków near the river"


def test_features_of_several_examples_are_grouped_in_order(tokenizer):
    long_context = " ".join(f"w{i}" for i in range(60))
    examples = [
        _example("w1", "Paris is in France.", index=0),
        _example("w2", long_context, index=1),
        _example("w3", long_context, index=2),
    ]
    features = make_features(examples, tokenizer, max_seq_length=24, doc_stride=10)
    assert [(f.example_index, f.window_index) for f in features] == (
        [(0, 0)] + [(1, w) for w in range(5)] + [(2, w) for w in range(5)]
    )
    batch = model_inputs(features)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask"}
    assert all(array.shape == (11, 24) and array.dtype == np.int64 for array in batch.values())
    assert (batch["input_ids"][3] == features[3].input_ids).all()


def test_defaults_are_the_reference_lengths_and_questions_are_truncated(tokenizer):
    question = " ".join(f"w{i}" for i in range(80))
    (feature,) = make_features([_example(question, "Paris is in France.")], tokenizer)
    assert feature.input_ids.shape == (384,)
    assert feature.token_type_ids[64 + 1] == 0 and feature.token_type_ids[64 + 2] == 1  # 64 query tokens kept
    assert feature.input_ids[64 + 1] == tokenizer.sep_token_id


def test_empty_context_still_gets_one_window(tokenizer):
    (feature,) = make_features([_example("w1", "")], tokenizer, max_seq_length=16)
    assert not any(feature.is_context(p) for p in range(16))
    assert feature.attention_mask.sum() == 4  # [CLS] w1 [SEP] [SEP]


def test_impossible_lengths_are_rejected(tokenizer):
    with pytest.raises(ValueError, match="leaves no room for the context"):
        make_features([_example("w1 w2 w3 w4 w5", "Paris.")], tokenizer, max_seq_length=8)
    with pytest.raises(ValueError, match="doc_stride must be at least 1"):
        make_features([_example("w1", "Paris.")], tokenizer, doc_stride=0)
