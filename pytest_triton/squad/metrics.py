"""The official SQuAD evaluation scripts (v1.1 and v2.0), same semantics, typed results."""

from __future__ import annotations

import re
import string
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pytest_triton.squad.data import SquadDataset

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


class UnknownQuestionIdsError(ValueError):
    """Predictions or no-answer probabilities name question ids that the data set does not have."""


@dataclass(frozen=True)
class V1Scores:
    """v1.1 result: exact match and F1 in percent over all questions (missing predictions count 0)."""

    exact_match: float
    f1: float

    def official(self) -> dict[str, Any]:
        """Return the dict the official v1.1 script prints."""
        return {"exact_match": self.exact_match, "f1": self.f1}


@dataclass(frozen=True)
class GroupScores:
    """Exact and F1 in percent over one group of questions, and its size."""

    exact: float
    f1: float
    total: int


@dataclass(frozen=True)
class BestThresholds:
    """v2.0 scores at the no-answer threshold that maximises each, as the official script searches them."""

    best_exact: float
    best_exact_thresh: float
    best_f1: float
    best_f1_thresh: float


@dataclass(frozen=True)
class V2Scores:
    """v2.0 result: overall, answerable-only and unanswerable-only scores, best thresholds when na-probs were given."""

    overall: GroupScores
    has_ans: GroupScores | None
    no_ans: GroupScores | None
    best: BestThresholds | None

    @property
    def exact_match(self) -> float:
        """Overall exact match in percent (named like V1Scores.exact_match so callers can treat both alike)."""
        return self.overall.exact

    @property
    def f1(self) -> float:
        """Overall F1 in percent."""
        return self.overall.f1

    def official(self) -> dict[str, Any]:
        """Return the dict the official v2.0 script prints, keys in its order, empty groups left out."""
        result: dict[str, Any] = {"exact": self.overall.exact, "f1": self.overall.f1, "total": self.overall.total}
        for prefix, group in (("HasAns", self.has_ans), ("NoAns", self.no_ans)):
            if group is not None:
                result.update(
                    {f"{prefix}_exact": group.exact, f"{prefix}_f1": group.f1, f"{prefix}_total": group.total}
                )
        if self.best is not None:
            result.update(asdict(self.best))
        return result


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and the articles a/an/the, collapse whitespace (the official normalisation)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    """Return whether prediction and ground truth are equal after normalisation."""
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def f1_score_v1(prediction: str, ground_truth: str) -> float:
    """Token-overlap F1 of the v1.1 script (an empty side scores 0, even against an empty side)."""
    return _token_f1(normalize_answer(prediction).split(), normalize_answer(ground_truth).split())


def f1_score_v2(prediction: str, ground_truth: str) -> float:
    """Token-overlap F1 of the v2.0 script: if either side is empty, 1 when both are, else 0."""
    prediction_tokens = normalize_answer(prediction).split()
    truth_tokens = normalize_answer(ground_truth).split()
    if not prediction_tokens or not truth_tokens:
        return float(prediction_tokens == truth_tokens)
    return _token_f1(prediction_tokens, truth_tokens)


def _token_f1(prediction_tokens: list[str], truth_tokens: list[str]) -> float:
    num_same = sum((Counter(prediction_tokens) & Counter(truth_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def max_over_ground_truths(metric: Callable[[str, str], float], prediction: str, ground_truths: Iterable[str]) -> float:
    """Return the best score of `prediction` against any of the ground truths."""
    return max(float(metric(prediction, truth)) for truth in ground_truths)


def check_known_ids(dataset: SquadDataset, ids: Iterable[str], what: str) -> None:
    """Raise UnknownQuestionIdsError naming the first few of `ids` that are not questions of `dataset`."""
    known = dataset.ids()
    unknown = [qid for qid in ids if qid not in known]
    if unknown:
        shown = ", ".join(repr(qid) for qid in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise UnknownQuestionIdsError(
            f"{len(unknown)} {what} id(s) are not questions of the data set: {shown}{more}; "
            "were the predictions made for a different data file?"
        )


def evaluate_v1(dataset: SquadDataset, predictions: Mapping[str, str]) -> V1Scores:
    """Score like the official v1.1 script; each missing prediction is reported on stderr and counts 0."""
    check_known_ids(dataset, predictions, "prediction")
    exact = f1 = 0.0
    for example in dataset.examples:
        if example.id not in predictions:
            print(f"Unanswered question {example.id} will receive score 0.", file=sys.stderr)
            continue
        truths = [answer.text for answer in example.answers]
        exact += max_over_ground_truths(exact_match_score, predictions[example.id], truths)
        f1 += max_over_ground_truths(f1_score_v1, predictions[example.id], truths)
    total = len(dataset.examples)
    return V1Scores(exact_match=100.0 * exact / total, f1=100.0 * f1 / total)


def evaluate_v2(
    dataset: SquadDataset,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> V2Scores:
    """Score like the official v2.0 script; with na_probs also search the best no-answer thresholds."""
    check_known_ids(dataset, predictions, "prediction")
    if na_probs is not None:
        check_known_ids(dataset, na_probs, "no-answer probability")
        missing = [qid for qid in predictions if qid not in na_probs]
        if missing:
            raise ValueError(f"no-answer probabilities lack {len(missing)} predicted question(s), e.g. {missing[0]!r}")
    probs = na_probs if na_probs is not None else {qid: 0.0 for qid in predictions}
    has_ans = {example.id: bool(example.answers) for example in dataset.examples}
    exact_raw, f1_raw = _raw_scores(dataset, predictions)
    exact = _apply_no_ans_threshold(exact_raw, probs, has_ans, na_prob_thresh)
    f1 = _apply_no_ans_threshold(f1_raw, probs, has_ans, na_prob_thresh)
    best = None
    if na_probs is not None:
        best_exact, exact_thresh = _best_threshold(predictions, exact_raw, probs, has_ans)
        best_f1, f1_thresh = _best_threshold(predictions, f1_raw, probs, has_ans)
        best = BestThresholds(best_exact, exact_thresh, best_f1, f1_thresh)
    answerable = [qid for qid, value in has_ans.items() if value]
    unanswerable = [qid for qid, value in has_ans.items() if not value]
    return V2Scores(
        overall=_group(exact, f1, list(exact)),
        has_ans=_group(exact, f1, answerable) if answerable else None,
        no_ans=_group(exact, f1, unanswerable) if unanswerable else None,
        best=best,
    )


def evaluate(
    dataset: SquadDataset,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> V1Scores | V2Scores:
    """Score with the official script for the data set's version (na_probs only apply to v2.0)."""
    if dataset.version == "1.1":
        if na_probs is not None:
            raise ValueError("no-answer probabilities only apply to SQuAD v2.0 data, and this data set is v1.1")
        return evaluate_v1(dataset, predictions)
    return evaluate_v2(dataset, predictions, na_probs, na_prob_thresh)


def _raw_scores(dataset: SquadDataset, predictions: Mapping[str, str]) -> tuple[dict[str, float], dict[str, float]]:
    exact: dict[str, float] = {}
    f1: dict[str, float] = {}
    for example in dataset.examples:
        # Gold answers that normalise to nothing do not count; an unanswerable question's only answer is "".
        truths = [answer.text for answer in example.answers if normalize_answer(answer.text)] or [""]
        if example.id not in predictions:
            # The official v2.0 script prints this on stdout and then fails; here a missing answer scores 0.
            print(f"Missing prediction for {example.id}", file=sys.stderr)
            exact[example.id] = f1[example.id] = 0.0
            continue
        exact[example.id] = max_over_ground_truths(exact_match_score, predictions[example.id], truths)
        f1[example.id] = max_over_ground_truths(f1_score_v2, predictions[example.id], truths)
    return exact, f1


def _apply_no_ans_threshold(
    scores: Mapping[str, float], na_probs: Mapping[str, float], has_ans: Mapping[str, bool], threshold: float
) -> dict[str, float]:
    """Questions whose no-answer probability exceeds the threshold are scored as if answered with ""."""
    return {
        qid: float(not has_ans[qid]) if na_probs.get(qid, 0.0) > threshold else score for qid, score in scores.items()
    }


def _group(exact: Mapping[str, float], f1: Mapping[str, float], qids: list[str]) -> GroupScores:
    total = len(qids)
    return GroupScores(
        exact=100.0 * sum(exact[qid] for qid in qids) / total,
        f1=100.0 * sum(f1[qid] for qid in qids) / total,
        total=total,
    )


def _best_threshold(
    predictions: Mapping[str, str],
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    has_ans: Mapping[str, bool],
) -> tuple[float, float]:
    """The official find_best_thresh: sweep questions by rising no-answer probability, answering one more each step.

    At a threshold below every probability all questions are answered with "", which scores the unanswerable ones.
    """
    current = float(sum(1 for qid, answerable in has_ans.items() if not answerable and qid in predictions))
    best_score, best_thresh = current, 0.0
    for qid in sorted(na_probs, key=lambda key: na_probs[key]):
        if qid not in predictions:
            continue
        if has_ans[qid]:
            current += scores[qid]
        elif predictions[qid]:
            current -= 1
        if current > best_score:
            best_score, best_thresh = current, na_probs[qid]
    return 100.0 * best_score / len(scores), best_thresh
