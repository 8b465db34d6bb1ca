"""From hand-built logits to answers: the reference span rules, windows, v2.0 null answers, prediction files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pytest_triton.squad.data import Answer, Example
from pytest_triton.squad.features import make_features
from pytest_triton.squad.postprocess import QALogits, postprocess
from pytest_triton.squad.prediction_files import read_na_probs, read_predictions, write_predictions

SHORT = "w0 w1 w2 w3 w4 w5"  # one-token question "w9": [CLS]=0 w9=1 [SEP]=2, w0..w5 at 3..8, [SEP]=9


def _example(context: str, qid: str = "q") -> Example:
    return Example(qid, "T", "w9", context, (), True)


def _zeros(features) -> tuple[np.ndarray, np.ndarray]:
    shape = (len(features), features[0].input_ids.shape[0])
    return np.zeros(shape, np.float32), np.zeros(shape, np.float32)


def test_best_span_inside_the_context_wins(tokenizer):
    examples = [_example(SHORT)]
    features = make_features(examples, tokenizer, max_seq_length=16)
    start, end = _zeros(features)
    start[0, 5], end[0, 7] = 5.0, 4.0  # "w2 w3 w4"
    start[0, 1] = end[0, 1] = 10.0  # the question token: never an answer
    start[0, 12] = end[0, 13] = 10.0  # padding: never an answer
    start[0, 8], end[0, 4] = 9.0, 9.0  # end before start: not a span
    (prediction,) = postprocess(examples, features, QALogits(start, end), with_negative=False, n_best_size=5)
    assert prediction.text == "w2 w3 w4"
    assert prediction.null_score_diff is None
    assert prediction.nbest[0].text == "w2 w3 w4"
    assert (prediction.nbest[0].start_logit, prediction.nbest[0].end_logit) == (5.0, 4.0)
    assert len(prediction.nbest) <= 5
    probabilities = [entry.probability for entry in prediction.nbest]
    assert sum(probabilities) == pytest.approx(1.0)
    assert probabilities == sorted(probabilities, reverse=True)


def test_spans_longer_than_max_answer_length_are_skipped(tokenizer):
    examples = [_example(SHORT)]
    features = make_features(examples, tokenizer, max_seq_length=16)
    start, end = _zeros(features)
    start[0, 3], start[0, 6] = 5.0, 1.0
    end[0, 8], end[0, 7] = 5.0, 1.0
    (long,) = postprocess(examples, features, QALogits(start, end), with_negative=False)
    assert long.text == SHORT  # score 10 when six tokens are allowed
    (short,) = postprocess(examples, features, QALogits(start, end), with_negative=False, max_answer_length=3)
    assert short.text == "w3 w4 w5"  # w0..w5 is too long; the best 3-token span scores 1 + 5


def _window_logits(features, token_logits: dict[tuple[int, int], tuple[float, float]]):
    """Logits where {(window, context token): (start, end)}; window w starts at token 4 * w, position 3 onward."""
    start, end = _zeros(features)
    for (window, token), (s, e) in token_logits.items():
        position = 3 + token - 4 * window
        start[window, position] += s
        end[window, position] += e
    return QALogits(start, end)


def test_start_must_be_max_context_and_the_best_window_wins(tokenizer):
    examples = [_example(" ".join(f"w{i}" for i in range(40)))]
    features = make_features(examples, tokenizer, max_seq_length=16, doc_stride=4)  # 12-token windows, 4 apart
    assert len(features) == 8
    # token 10 is max-context in window 1 (5 tokens each side) not window 0 (1 token to its right)
    logits = _window_logits(
        features,
        {
            (0, 10): (120.0, 0.0),
            (0, 11): (0.0, 20.0),  # huge, but starts at a token window 0 does not own
            (1, 10): (3.0, 0.0),
            (1, 11): (0.0, 3.0),
            (2, 13): (2.0, 0.0),
            (2, 14): (0.0, 2.0),
        },
    )
    logits.start[0, 3:15] -= 100.0  # window 0 has no other plausible start
    (prediction,) = postprocess(examples, features, logits, with_negative=False)
    assert prediction.text == "w10 w11"
    assert prediction.nbest[0].start_logit == 3.0
    assert [entry.text for entry in prediction.nbest].count("w10 w11") == 1  # duplicates across windows merged


def test_v2_null_score_is_the_minimum_over_windows(tokenizer):
    examples = [_example(" ".join(f"w{i}" for i in range(20)))]
    features = make_features(examples, tokenizer, max_seq_length=16, doc_stride=4)
    assert len(features) == 3
    start, end = _zeros(features)
    start[:, 0] = [1.0, -1.0, 2.0]  # [CLS] scores per window: 2, -1, 2 -> null score -1
    end[:, 0] = [1.0, 0.0, 0.0]
    start[1, 3 + 9 - 4], end[1, 3 + 10 - 4] = 1.5, 1.5  # w9 w10 in window 1 (which starts at w4 and owns w9)
    logits = QALogits(start, end)
    (answered,) = postprocess(examples, features, logits, with_negative=True)
    assert answered.text == "w9 w10"
    assert answered.null_score_diff == pytest.approx(-1.0 - 3.0)
    assert "" in [entry.text for entry in answered.nbest]
    (strict,) = postprocess(examples, features, logits, with_negative=True, null_score_diff_threshold=-5.0)
    assert strict.text == ""  # -4 > -5: the null answer wins
    start[:, 1:], end[:, 1:] = -1.0, -1.0  # every span now scores -2, below the null score -1
    (unanswered,) = postprocess(examples, features, QALogits(start, end), with_negative=True)
    assert unanswered.text == ""
    assert unanswered.null_score_diff == pytest.approx(-1.0 - -2.0)


def test_v2_without_any_valid_span_answers_empty(tokenizer):
    examples = [_example("")]
    features = make_features(examples, tokenizer, max_seq_length=16)
    start, end = _zeros(features)
    (prediction,) = postprocess(examples, features, QALogits(start, end), with_negative=True)
    assert prediction.text == ""
    assert math.isinf(prediction.null_score_diff)
    assert [entry.text for entry in prediction.nbest] == [""]


def test_logits_must_match_features(tokenizer):
    examples = [_example(SHORT)]
    features = make_features(examples, tokenizer, max_seq_length=16)
    with pytest.raises(ValueError, match="logits for 2 features but there are 1"):
        postprocess(examples, features, QALogits(np.zeros((2, 16)), np.zeros((2, 16))), with_negative=False)


def test_prediction_files_round_trip(tokenizer, tmp_path):
    examples = [_example(SHORT, "a"), Example("b", "T", "w9", "Zoë was born in Kraków.", (Answer("Kraków", 16),))]
    features = make_features(examples, tokenizer, max_seq_length=24)
    start, end = _zeros(features)
    start[0, 4], end[0, 5] = 2.0, 2.0
    kraków = [p for p in range(24) if features[1].is_context(p) and features[1].offsets[p, 0] == 16]
    start[1, kraków[0]], end[1, kraków[0]] = 4.0, 4.0
    start[1, 0], end[1, 0] = 3.0, 3.0
    predictions = postprocess(examples, features, QALogits(start, end), with_negative=True)
    written = write_predictions(predictions, tmp_path / "out")
    assert sorted(p.name for p in written) == ["nbest_predictions.json", "null_odds.json", "predictions.json"]
    assert read_predictions(tmp_path / "out" / "predictions.json") == {"a": "w1 w2", "b": "Kraków"}
    assert read_na_probs(tmp_path / "out" / "null_odds.json") == {
        "a": pytest.approx(0.0 - 4.0),
        "b": pytest.approx(6.0 - 8.0),
    }
    nbest = json.loads((tmp_path / "out" / "nbest_predictions.json").read_text(encoding="utf-8"))
    assert set(nbest) == {"a", "b"}
    assert nbest["b"][0] == {
        "text": "Kraków",
        "probability": pytest.approx(nbest["b"][0]["probability"]),
        "start_logit": 4.0,
        "end_logit": 4.0,
    }
    assert sum(entry["probability"] for entry in nbest["b"]) == pytest.approx(1.0)


def test_v1_predictions_write_no_null_odds(tokenizer, tmp_path):
    examples = [_example(SHORT)]
    features = make_features(examples, tokenizer, max_seq_length=16)
    start, end = _zeros(features)
    predictions = postprocess(examples, features, QALogits(start, end), with_negative=False)
    names = sorted(p.name for p in write_predictions(predictions, tmp_path))
    assert names == ["nbest_predictions.json", "predictions.json"]
