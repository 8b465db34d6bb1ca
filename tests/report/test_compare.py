"""--triton-history and `python -m pytest_triton.report.compare`: two runs' reports compared as baselines are."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from pytest_triton.baselines.verdict import Verdict
from pytest_triton.report.compare import compare_reports, main
from pytest_triton.report.document import document_text, read_measurements, report_document
from pytest_triton.report.history import keep_report, kept_reports
from tests.perf.test_perf_results import measurement, window

STEADY = (window(99, 10_000), window(100, 10_000), window(101, 10_000))
CONFIG = "bert-tiny-onnx-fp32-b1"


def _report(tmp_path, name: str, throughput: float, configs=(CONFIG,)):
    m = dataclasses.replace(measurement(STEADY), throughput=throughput)
    path = tmp_path / name
    path.write_text(document_text(report_document({config: [m] for config in configs}, metadata={"hardware": "x"})))
    return path


def test_a_slower_run_regresses_against_the_earlier_one_and_points_it_lacks_are_named(tmp_path):
    old = read_measurements(_report(tmp_path, "old.json", 100.0, (CONFIG, "resnext-small-onnx-fp32-b1")))
    same, gone = compare_reports(old, read_measurements(_report(tmp_path, "same.json", 100.0)))
    assert {c.verdict for c in same} == {Verdict.OK}
    assert gone == ["resnext-small-onnx-fp32-b1/c2"]
    slower, _ = compare_reports(old, read_measurements(_report(tmp_path, "slow.json", 50.0)))
    assert {c.metric: c.verdict for c in slower}["throughput"] is Verdict.REGRESSION
    loose, _ = compare_reports(old, read_measurements(_report(tmp_path, "slow.json", 50.0)), {"throughput": 0.6})
    assert {c.metric: c.verdict for c in loose}["throughput"] is Verdict.OK


def test_the_command_fails_a_ci_job_only_when_asked(tmp_path, capsys):
    old, slow = _report(tmp_path, "old.json", 100.0), _report(tmp_path, "slow.json", 50.0)
    assert main([str(old), str(slow)]) == 0
    assert main([str(old), str(slow), "--fail-on-regression"]) == 1
    out = capsys.readouterr().out
    assert f"comparing {slow} against {old}" in out
    assert "bert-tiny-onnx-fp32-b1/c2" in out and "regression" in out
    assert main([str(old), str(old), "--fail-on-regression"]) == 0
    # A point the new run lost (a configuration that crashed) fails the gate too.
    both = _report(tmp_path, "both.json", 100.0, (CONFIG, "resnext-small-onnx-fp32-b1"))
    assert main([str(both), str(old), "--fail-on-regression"]) == 1
    assert "resnext-small-onnx-fp32-b1/c2: measured in" in capsys.readouterr().out


def test_history_keeps_every_run_by_time_and_compare_takes_the_last_two_of_one_hardware(tmp_path, capsys):
    document = json.loads(_report(tmp_path, "r.json", 100.0).read_text())
    history = tmp_path / "history"

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 12, 1, hour, minute, tzinfo=timezone.utc)

    first = keep_report(document, history, "remote-a, remote-b", at(7))
    again = keep_report(document, history, "remote-a, remote-b", at(7))
    other = keep_report(document, history, "cpu-x-2c", at(7, 30))
    slower = {**document, "measurements": {CONFIG: [{**document["measurements"][CONFIG][0], "throughput": 50.0}]}}
    last = keep_report(slower, history, "remote-a, remote-b", at(8))
    assert first.name == "20261201T070000Z-remote-a_remote-b.json"
    assert again.name == "20261201T070000Z.2-remote-a_remote-b.json"  # never over an earlier run
    assert kept_reports(history) == [first, again, other, last]
    assert main(["--history", str(history), "--fail-on-regression"]) == 1
    assert f"comparing {last} against {again}" in capsys.readouterr().out  # not the other machine's run
    keep_report(document, history, "gpu-y", at(9))
    with pytest.raises(SystemExit):
        main(["--history", str(history)])
    assert "holds no earlier report from gpu-y" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read report"),
        ("{not json", "is not JSON"),
        ('{"report_version": 7}', "is not a pytest-triton report of version 1"),
        ('{"report_version": 1, "measurements": {"c": [{"model": "m"}]}}', "has a malformed measurement"),
    ],
)
def test_a_bad_report_file_is_named_without_a_traceback(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main([str(_report(tmp_path, "old.json", 100.0)), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and str(bad) in err


def test_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--history", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "holds no report" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["one.json", "--tolerance", "speed=0.1"])
    assert "unknown metric 'speed'" in capsys.readouterr().err
