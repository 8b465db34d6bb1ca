"""Turn per-feature start/end logits into answer texts as the reference run_squad `write_predictions` does."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pytest_triton.squad.data import Example
from pytest_triton.squad.features import Feature


@dataclass(frozen=True)
class QALogits:
    """Start and end logits for a list of features, float arrays of shape [n_features, max_seq_length]."""

    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


@dataclass(frozen=True)
class NbestEntry:
    """One candidate answer: its text, softmax probability among the n-best, and the two logits."""

    text: str
    probability: float
    start_logit: float
    end_logit: float


@dataclass(frozen=True)
class Prediction:
    """The answer chosen for one question, its n-best list and (v2.0 only) null score minus best span score."""

    id: str
    text: str
    nbest: tuple[NbestEntry, ...]
    null_score_diff: float | None


@dataclass(frozen=True)
class _Candidate:
    feature: int
    start: int  # token positions within the feature; 0/0 is the null answer at [CLS]
    end: int
    start_logit: float
    end_logit: float

    @property
    def score(self) -> float:
        return self.start_logit + self.end_logit


def postprocess(
    examples: Sequence[Example],
    features: Sequence[Feature],
    logits: QALogits,
    with_negative: bool,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    null_score_diff_threshold: float = 0.0,
) -> list[Prediction]:
    """Pick each question's answer from its features' logits; with_negative=True applies SQuAD v2.0 null answers."""
    if len(logits) != len(features):
        raise ValueError(f"got logits for {len(logits)} features but there are {len(features)} features")
    by_example: list[list[int]] = [[] for _ in examples]
    for index, feature in enumerate(features):
        by_example[feature.example_index].append(index)
    return [
        _predict(
            example,
            [features[i] for i in indexes],
            logits.start[indexes],
            logits.end[indexes],
            with_negative,
            n_best_size,
            max_answer_length,
            null_score_diff_threshold,
        )
        for example, indexes in zip(examples, by_example, strict=True)
    ]


def _best_indexes(values: np.ndarray, n: int) -> np.ndarray:
    # Stable like the reference's sorted(..., reverse=True): ties keep the lower position first.
    return np.argsort(-values, kind="stable")[:n]


def _span_candidates(
    f_index: int, feature: Feature, starts: np.ndarray, ends: np.ndarray, n_best_size: int, max_answer_length: int
) -> list[_Candidate]:
    """The reference's double loop over the top start and end positions, with its validity rules, vectorised."""
    top_starts, top_ends = _best_indexes(starts, n_best_size), _best_indexes(ends, n_best_size)
    start_ok = (feature.offsets[top_starts, 0] >= 0) & feature.token_is_max_context[top_starts]
    end_ok = feature.offsets[top_ends, 0] >= 0
    length = top_ends[None, :] - top_starts[:, None] + 1
    valid = start_ok[:, None] & end_ok[None, :] & (length >= 1) & (length <= max_answer_length)
    rows, cols = np.nonzero(valid)  # row-major: the reference's loop order, which decides ties later
    candidates = []
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        start, end = int(top_starts[row]), int(top_ends[col])
        candidates.append(_Candidate(f_index, start, end, float(starts[start]), float(ends[end])))
    return candidates


def _predict(
    example: Example,
    features: Sequence[Feature],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    with_negative: bool,
    n_best_size: int,
    max_answer_length: int,
    null_score_diff_threshold: float,
) -> Prediction:
    # Python floats (float64) as in the reference, so sums and ties do not depend on the model's output dtype.
    start_logits = start_logits.astype(np.float64)
    end_logits = end_logits.astype(np.float64)
    candidates: list[_Candidate] = []
    null: _Candidate | None = None
    for f_index, feature in enumerate(features):
        starts, ends = start_logits[f_index], end_logits[f_index]
        if with_negative:
            # The null answer is scored at [CLS]; keep the window where it is least likely (the minimum).
            feature_null = _Candidate(f_index, 0, 0, float(starts[0]), float(ends[0]))
            if null is None or feature_null.score < null.score:
                null = feature_null
        candidates.extend(_span_candidates(f_index, feature, starts, ends, n_best_size, max_answer_length))
    if null is not None:
        candidates.append(null)
    candidates.sort(key=lambda candidate: candidate.score, reverse=True)

    chosen: list[tuple[str, _Candidate]] = []
    seen: set[str] = set()
    for candidate in candidates:
        if len(chosen) >= n_best_size:
            break
        text = _text(example, features[candidate.feature], candidate) if candidate.start > 0 else ""
        if text in seen:
            continue
        seen.add(text)
        chosen.append((text, candidate))
    if null is not None and "" not in seen:
        chosen.append(("", null))

    probabilities = _softmax([candidate.score for _, candidate in chosen])
    nbest = tuple(
        NbestEntry(text, probability, candidate.start_logit, candidate.end_logit)
        for (text, candidate), probability in zip(chosen, probabilities, strict=True)
    )
    if null is None:
        # The reference would answer the literal "empty" when no span is valid; an empty answer is the honest one.
        return Prediction(example.id, chosen[0][0] if chosen else "", nbest, None)
    best_span = next(((text, candidate) for text, candidate in chosen if text), None)
    if best_span is None:
        return Prediction(example.id, "", nbest, math.inf)
    diff = null.score - best_span[1].score
    return Prediction(example.id, "" if diff > null_score_diff_threshold else best_span[0], nbest, diff)


def _text(example: Example, feature: Feature, candidate: _Candidate) -> str:
    return example.context[int(feature.offsets[candidate.start, 0]) : int(feature.offsets[candidate.end, 1])]


def _softmax(scores: Sequence[float]) -> list[float]:
    if not scores:
        return []
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]
