"""The accuracy suite end to end: the shipped tiny QA model through Triton, baselines, bad SQuAD input."""

from __future__ import annotations

import json

import pytest

TINY = ("--triton-models=bert-tiny", "--triton-formats=onnx", "--triton-precisions=fp32")


@pytest.fixture
def suite_files() -> tuple[str, ...]:
    return ("test_accuracy.py",)


def test_tiny_model_through_triton_matches_in_process_and_records(suites, pytester):
    result = suites(*TINY, "--update-baselines", "--triton-report=report", "-v")
    result.assert_outcomes(passed=2)
    (path,) = (pytester.path / "baselines" / "accuracy").glob("accuracy.json")
    entries = json.loads(path.read_text())["entries"]
    v11 = entries["bert-tiny-onnx-fp32/synthetic-v1.1"]
    assert v11["exact_match"]["value"] >= 80 and v11["f1"]["value"] >= 85
    assert "bert-tiny-onnx-fp32/synthetic-v2.0" in entries
    predictions = json.loads(
        (pytester.path / "report/squad/bert-tiny-onnx-fp32/synthetic-v1.1/predictions.json").read_text()
    )
    assert len(predictions) > 100
    # A baseline records the weights it was measured with. Judged against what it recorded: deterministic, so
    # every metric is ok; against other weights (v1.1's entries rewritten to say so) it is not applied, and the
    # summary says so, while the comparison with the same model in-process still holds.
    weights = v11["exact_match"]["weights"]
    assert len(weights) == 16 and {m["weights"] for c in entries.values() for m in c.values()} == {weights}
    stored = json.loads(path.read_text())
    for metric in stored["entries"]["bert-tiny-onnx-fp32/synthetic-v1.1"].values():
        metric["weights"] = "0123456789abcdef"
    path.write_text(json.dumps(stored))
    result = suites(*TINY)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "triton accuracy baselines: 2 ok, 2 not applied",
            "bert-tiny-onnx-fp32/synthetic-v1.1*not applied: other weights",
            "bert-tiny-onnx-fp32/synthetic-v2.0*ok",
        ]
    )


def test_malformed_squad_file_is_a_clear_error(suites, pytester):
    bad = pytester.path / "dev.json"
    bad.write_text(
        json.dumps(
            {
                "version": "1.1",
                "data": [
                    {
                        "title": "t",
                        "paragraphs": [
                            {
                                "context": "abc",
                                "qas": [{"id": "q", "question": "?", "answers": [{"text": "zz", "answer_start": "x"}]}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    result = suites(*TINY, f"--squad-file={bad}")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*dev.json*answer_start*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_missing_squad_file_is_a_usage_error(suites, pytester):
    result = suites(*TINY, f"--squad-file={pytester.path / 'nope.json'}")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: --squad-file=*nope.json: no such file*"])
