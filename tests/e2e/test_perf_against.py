"""--triton-save-deployment and --triton-perf-against end to end: a team's model saved by one run, the next run's
deployment measured side by side with it, on a machine with no stored baseline; a changed forward caught; and a
baseline of other models named once while the rest of the run goes on."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MODEL = "tabular-scorer"
PERF = ("--triton-models", MODEL, "-k", "throughput_and_latency", "--triton-perf-window=0.5")


@pytest.fixture
def suite_files() -> tuple[str, ...]:
    return ("test_perf.py",)


@pytest.fixture
def heavy(pytester: pytest.Pytester, user_model_conftest: str, forwards) -> Path:
    return pytester.makeconftest(forwards.built(user_model_conftest, forwards.heavy))


# Both sides' speed, measured side by side: under xdist it takes its turn alone.
@pytest.mark.measures
def test_saved_then_unchanged_is_not_regressed_and_a_slower_forward_is(suites, pytester, heavy: Path, forwards):
    suites(*PERF, "--triton-save-deployment=saved").assert_outcomes(passed=1)
    saved = pytester.path / "saved"
    manifest = json.loads((saved / "manifest.json").read_text())
    ((name, entry),) = manifest["models"].items()
    assert entry["model"] == MODEL and (entry["format"], entry["precision"]) == ("onnx", "fp32")
    assert entry["versions"]["triton"] == "2.51.0" and len(entry["weights_digest"]) == 64
    # The python runner serves it on this server: its code is saved beside the artifact.
    assert (saved / name / "1" / "model.py").is_file() and (saved / name / "1" / "model.onnx").is_file()
    assert f'name: "{name}"' in (saved / name / "config.pbtxt").read_text()

    # One round of pairs a point (8 s) is enough here: the unchanged side may stay inconclusive, and the slower one
    # is twice as slow.
    against = (*PERF, "--triton-perf-against=saved", "--triton-perf-against-budget=8")
    same = suites(*against, "--triton-report=report", "--junitxml=junit.xml")
    same.assert_outcomes(passed=1)
    same.stdout.fnmatch_lines(["triton perf against saved: 1 load points: *", f"{MODEL}-*/c1*throughput*x [[]*"])
    (record,) = json.loads((pytester.path / "report" / "report.json").read_text())["against"]
    assert record["source"] == "saved" and record["config"].endswith("/c1")
    assert {r["figure"] for r in record["point"]["verdict"]["ratios"]} == {"throughput", "p50", "p99"}
    assert len(record["point"]["candidate"]) == record["point"]["verdict"]["pairs"] >= 16
    assert "## triton perf against saved" in (pytester.path / "report" / "summary.md").read_text()
    assert (pytester.path / "report" / "side_by_side.png").stat().st_size > 0
    properties = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    assert 0.5 < float(properties["c1.vs_baseline.throughput_ratio"]) < 2
    assert properties["c1.vs_baseline.throughput"] in ("same", "inconclusive", "improved")

    heavy.write_text(forwards.built(heavy.read_text(), forwards.slower))
    slower = suites(*against)
    slower.assert_outcomes(failed=1)
    output = slower.stdout.str()
    assert "/c1: regressed against the baseline deployment (saved): throughput 0." in output, output
    # The answers are the same (computed twice over, averaged): only the speed changed.
    assert "answers differ" not in output


def test_a_baseline_of_other_models_is_named_once_and_the_rest_is_measured(suites, pytester, heavy: Path):
    (pytester.path / "prod" / "ranker" / "1").mkdir(parents=True)
    result = suites(*PERF, "--triton-perf-against=prod")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert f"the baseline deployment prod has no model '{MODEL}-" in output
    assert f"or '{MODEL}' (it holds ranker): save a baseline of the same models, or map it with" in output
    assert "--triton-perf-against-model" in output
    # Measured all the same: its figures are in the perf table.
    result.stdout.fnmatch_lines([f"{MODEL}-*/c1*throughput*infer/s*"])
