"""`python -m pytest_triton.squad`: official JSON on stdout, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CONTEXT = "The Eiffel Tower stands in Paris. Paris is the capital of France."


def _run(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_triton.squad", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def v1_data(write_json, squad_doc, qa):
    return write_json(
        "dev-v1.1.json",
        squad_doc((CONTEXT, [qa("q1", "Where?", CONTEXT, "Paris"), qa("q2", "Capital of?", CONTEXT, "France")])),
    )


@pytest.fixture
def v2_data(write_json, squad_doc, qa):
    return write_json(
        "dev-v2.0.json",
        squad_doc(
            (
                CONTEXT,
                [qa("a", "Where?", CONTEXT, "Paris", impossible=False), qa("n", "Mayor?", CONTEXT, impossible=True)],
            ),
            version="v2.0",
        ),
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m pytest_triton.squad: error: ")
    return lines[0]


def test_v1_scores_print_the_official_json(v1_data, write_json):
    result = _run(v1_data, write_json("pred.json", {"q1": "in Paris", "q2": "France"}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"exact_match": 50.0, "f1": pytest.approx(100 * (1 + 2 / 3) / 2)}
    assert result.stdout.count("\n") == 1  # one line, as the official v1.1 script prints it


def test_v1_missing_prediction_is_reported_on_stderr(v1_data, write_json):
    result = _run(v1_data, write_json("pred.json", {"q1": "Paris"}))
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"exact_match": 50.0, "f1": 50.0}
    assert result.stderr == "Unanswered question q2 will receive score 0.\n"


def test_v2_scores_with_na_probs_and_out_file(v2_data, write_json, tmp_path):
    predictions = write_json("pred.json", {"a": "Paris", "n": "France"})
    na_probs = write_json("na.json", {"a": 0.2, "n": 0.7})
    result = _run(v2_data, predictions, "--na-prob-file", na_probs)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == {
        "exact": 50.0,
        "f1": 50.0,
        "total": 2,
        "HasAns_exact": 100.0,
        "HasAns_f1": 100.0,
        "HasAns_total": 1,
        "NoAns_exact": 0.0,
        "NoAns_f1": 0.0,
        "NoAns_total": 1,
        # answering only "a" (probability 0.2 < threshold 0.2 < 0.7) gets both right
        "best_exact": 100.0,
        "best_exact_thresh": 0.2,
        "best_f1": 100.0,
        "best_f1_thresh": 0.2,
    }
    out_file = tmp_path / "eval.json"
    quiet = _run(v2_data, predictions, "--na-prob-file", na_probs, "--na-prob-thresh", "0.5", "--out-file", out_file)
    assert quiet.returncode == 0 and quiet.stdout == ""
    assert json.loads(out_file.read_text())["exact"] == 100.0  # "n" is above 0.5, so scored as answered ""


def test_bad_data_file_is_one_line(v1_data, write_json):
    broken = write_json("broken.json", '{"data": [}')
    line = _one_error_line(_run(broken, write_json("pred.json", {})))
    assert str(broken) in line and "invalid JSON at line 1" in line


def test_bad_answer_start_names_the_json_path(write_json, squad_doc):
    entry = {"id": "q", "question": "?", "answers": [{"text": "Paris", "answer_start": 0}]}
    data = write_json("data.json", squad_doc((CONTEXT, [entry])))
    line = _one_error_line(_run(data, write_json("pred.json", {})))
    assert "data[0].paragraphs[0].qas[0].answers[0].answer_start" in line


def test_unknown_prediction_ids_are_named(v1_data, write_json):
    predictions = write_json("pred.json", {"q1": "Paris", "nope-7": "x"})
    line = _one_error_line(_run(v1_data, predictions))
    assert str(predictions) in line and "'nope-7'" in line


def test_prediction_file_of_the_wrong_shape(v1_data, write_json):
    line = _one_error_line(_run(v1_data, write_json("pred.json", ["Paris"])))
    assert "expected an object mapping each question id to an answer string, got an array" in line
    line = _one_error_line(_run(v1_data, write_json("pred2.json", {"q1": 3})))
    assert "['q1']: expected an answer string, got the number 3" in line


def test_missing_files_and_bad_arguments(v1_data, v2_data, write_json, tmp_path):
    line = _one_error_line(_run(tmp_path / "absent.json", write_json("pred.json", {})))
    assert "absent.json: No such file or directory" in line
    _one_error_line(_run(v1_data))  # the predictions argument is missing
    line = _one_error_line(_run(v1_data, write_json("p.json", {"q1": "x"}), "--na-prob-file", write_json("n.json", {})))
    assert "only apply to SQuAD v2.0" in line
    na_probs = write_json("n2.json", {"zz": 1})
    line = _one_error_line(_run(v2_data, write_json("p2.json", {"a": "x"}), "--na-prob-file", na_probs))
    assert "n2.json" in line and "'zz'" in line
