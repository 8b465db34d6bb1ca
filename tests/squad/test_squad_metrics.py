"""The official v1.1 / v2.0 scoring semantics, against values computed by hand."""

from __future__ import annotations

import pytest

from pytest_triton.squad.data import Answer, Example, SquadDataset
from pytest_triton.squad.metrics import (
    UnknownQuestionIdsError,
    evaluate,
    evaluate_v1,
    evaluate_v2,
    exact_match_score,
    f1_score_v1,
    f1_score_v2,
    normalize_answer,
)


def _example(qid: str, *answers: str) -> Example:
    # Offsets do not matter to scoring; the context is not read.
    return Example(qid, "T", "?", "ctx", tuple(Answer(text, 0) for text in answers), not answers)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Quick, Brown  Fox!", "quick brown fox"),
        ("an apple a day", "apple day"),
        ("Theater of the absurd", "theater of absurd"),  # articles only as whole words
        ("A.B.C.", "abc"),  # punctuation is removed before articles: "abc" is no article
        ("  mixed\tWhite\nspace ", "mixed white space"),
        ("Über-Café", "übercafé"),
        ("the", ""),
        ("«Paris»", "«paris»"),  # only ASCII punctuation is removed, as in the official script
    ],
)
def test_normalize_answer(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_and_f1_by_hand():
    assert exact_match_score("The Eiffel Tower!", "eiffel tower")
    assert not exact_match_score("Eiffel", "Eiffel Tower")
    # "cat sat on mat" vs "cat on mat": 3 common tokens, precision 3/4, recall 1
    assert f1_score_v1("the cat sat on the mat", "cat on mat") == pytest.approx(6 / 7)
    # multiset overlap: x appears once in the truth, y once in the prediction
    assert f1_score_v1("x x y", "x y y") == pytest.approx(2 / 3)
    assert f1_score_v1("Paris", "London") == 0.0


def test_empty_answers_differ_between_v1_and_v2():
    assert exact_match_score("", "")
    assert f1_score_v1("", "") == 0.0  # v1.1: no tokens, no overlap
    assert f1_score_v2("", "") == 1.0  # v2.0: both empty is a match
    assert f1_score_v2("the", "") == 1.0  # "the" normalises to empty
    assert f1_score_v2("", "Paris") == 0.0
    assert f1_score_v2("Paris", "") == 0.0


V1 = SquadDataset(
    "1.1",
    (
        _example("q1", "Eiffel Tower", "the Eiffel Tower"),
        _example("q2", "Paris"),
        _example("q3", "in 1889", "1889"),
    ),
)


def test_v1_scores_with_several_truths_and_a_missing_prediction(capsys):
    scores = evaluate_v1(V1, {"q1": "Eiffel tower!", "q2": "Paris, France"})
    # q1 exact; q2 F1 2/3 (precision 1/2, recall 1); q3 unanswered counts 0
    assert scores.official() == {"exact_match": pytest.approx(100 / 3), "f1": pytest.approx(100 * (5 / 3) / 3)}
    assert list(scores.official()) == ["exact_match", "f1"]
    assert capsys.readouterr().err == "Unanswered question q3 will receive score 0.\n"


def test_v1_best_truth_is_taken_per_metric():
    scores = evaluate_v1(V1, {"q1": "Tower", "q2": "Paris", "q3": "1889 in"})
    # q1: F1 vs "Eiffel Tower" = 2/3; q3: EM 0, F1 vs "in 1889" = 1 (same tokens, other order)
    assert scores.exact_match == pytest.approx(100 / 3)
    assert scores.f1 == pytest.approx(100 * (2 / 3 + 1 + 1) / 3)


V2 = SquadDataset(
    "2.0",
    (
        _example("a1", "Paris"),
        _example("a2", "1889", "in 1889"),
        _example("a3", "the", "Seine river"),  # "the" normalises to nothing and is dropped from the truths
        _example("n1"),
        _example("n2"),
    ),
)
V2_PREDICTIONS = {"a1": "Paris", "a2": "1889 AD", "a3": "river", "n1": "", "n2": "Paris"}
# raw exact: a1 1, a2 0, a3 0, n1 1, n2 0;  raw F1: a1 1, a2 2/3, a3 2/3, n1 1, n2 0


def test_v2_scores_by_hand():
    result = evaluate_v2(V2, V2_PREDICTIONS).official()
    assert result == {
        "exact": pytest.approx(40.0),
        "f1": pytest.approx(100 * (10 / 3) / 5),
        "total": 5,
        "HasAns_exact": pytest.approx(100 / 3),
        "HasAns_f1": pytest.approx(100 * (7 / 3) / 3),
        "HasAns_total": 3,
        "NoAns_exact": pytest.approx(50.0),
        "NoAns_f1": pytest.approx(50.0),
        "NoAns_total": 2,
    }
    assert list(result) == [
        "exact",
        "f1",
        "total",
        "HasAns_exact",
        "HasAns_f1",
        "HasAns_total",
        "NoAns_exact",
        "NoAns_f1",
        "NoAns_total",
    ]


def test_v2_na_probs_threshold_and_best_thresholds_by_hand():
    na_probs = {"a1": 0.1, "a2": 0.6, "a3": 0.3, "n1": 0.9, "n2": 0.8}
    result = evaluate_v2(V2, V2_PREDICTIONS, na_probs, na_prob_thresh=0.5).official()
    # above 0.5 the question counts as answered with "": a2 -> 0, n1 -> 1, n2 -> 1
    assert result["exact"] == pytest.approx(60.0)
    assert result["f1"] == pytest.approx(100 * (11 / 3) / 5)
    assert result["HasAns_f1"] == pytest.approx(100 * (5 / 3) / 3)
    assert result["NoAns_exact"] == pytest.approx(100.0)
    # sweep from "all empty" (2 right) by rising probability: a1 +1, a3 +0, a2 +0, n2 -1, n1 0 -> best 3 at 0.1
    assert result["best_exact"] == pytest.approx(60.0)
    assert result["best_exact_thresh"] == pytest.approx(0.1)
    # F1: a1 +1, a3 +2/3, a2 +2/3 -> best 2 + 7/3 at 0.6, then n2 -1
    assert result["best_f1"] == pytest.approx(100 * (13 / 3) / 5)
    assert result["best_f1_thresh"] == pytest.approx(0.6)
    assert list(result)[-4:] == ["best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"]


def test_v2_default_threshold_ignores_probabilities_up_to_one():
    na_probs = {qid: 1.0 for qid in V2_PREDICTIONS}
    assert evaluate_v2(V2, V2_PREDICTIONS, na_probs).exact_match == pytest.approx(40.0)


def test_v2_groups_without_questions_are_left_out():
    only_answerable = SquadDataset("2.0", (_example("a1", "Paris"),))
    result = evaluate_v2(only_answerable, {"a1": "Paris"}).official()
    assert result == {
        "exact": 100.0,
        "f1": 100.0,
        "total": 1,
        "HasAns_exact": 100.0,
        "HasAns_f1": 100.0,
        "HasAns_total": 1,
    }
    only_unanswerable = SquadDataset("2.0", (_example("n1"),))
    assert list(evaluate_v2(only_unanswerable, {"n1": ""}).official()) == [
        "exact",
        "f1",
        "total",
        "NoAns_exact",
        "NoAns_f1",
        "NoAns_total",
    ]


def test_v2_missing_prediction_scores_zero_and_is_reported(capsys):
    predictions = {k: v for k, v in V2_PREDICTIONS.items() if k != "n1"}
    result = evaluate_v2(V2, predictions).official()
    assert result["total"] == 5
    assert result["NoAns_exact"] == 0.0
    assert capsys.readouterr().err == "Missing prediction for n1\n"


def test_unknown_prediction_ids_are_named():
    with pytest.raises(UnknownQuestionIdsError) as info:
        evaluate(V1, {"q1": "x", "zz-1": "y", "zz-2": "z"})
    assert "2 prediction id(s) are not questions of the data set: 'zz-1', 'zz-2'" in str(info.value)


def test_many_unknown_ids_are_summarised():
    with pytest.raises(UnknownQuestionIdsError) as info:
        evaluate(V2, {f"x{i}": "" for i in range(8)})
    assert str(info.value).startswith(
        "8 prediction id(s) are not questions of the data set: 'x0', 'x1', 'x2', 'x3', 'x4' and 3 more;"
    )


def test_na_probs_must_cover_predictions_and_fit_the_version():
    with pytest.raises(ValueError, match="lack 1 predicted question"):
        evaluate_v2(V2, V2_PREDICTIONS, {k: 0.0 for k in V2_PREDICTIONS if k != "a2"})
    with pytest.raises(ValueError, match="only apply to SQuAD v2.0"):
        evaluate(V1, {"q1": "x"}, na_probs={"q1": 0.5})


def test_evaluate_dispatches_on_version():
    assert evaluate(V1, {"q1": "Eiffel Tower", "q2": "Paris", "q3": "1889"}).official() == {
        "exact_match": 100.0,
        "f1": 100.0,
    }
    assert evaluate(V2, V2_PREDICTIONS).official()["total"] == 5
