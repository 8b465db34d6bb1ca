"""The perf suite end to end: record baselines, gate on them, report; bad baseline files never lost."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from pytest_triton.perf.reference import TOLERANCE

# One short configuration: the calibration check plus one measured point.
QUICK = (
    "--triton-models=resnext-small",
    "--triton-formats=onnx",
    "--triton-precisions=fp32",
    "--triton-perf-batching=on",
    "--triton-perf-instances=1",
    "--triton-perf-batch-sizes=1",
    "--triton-perf-concurrency=1",
    "--triton-perf-window=0.5",
    # Other tests share these two cores: a loose stability rule keeps one short point recordable.
    "--triton-perf-stability=50",
    "--triton-perf-max-steal=100",
)
CONFIG = "resnext-small-onnx-fp32-b1-db100us-p4-p8-i1/c1"
# The calibration check compares with a known answer, so a run that has it takes its turn alone (the `measures`
# mark); a run that checks only how baselines are handled leaves it out and shares the machine.
NO_CALIBRATION = ("-k", "not calibration")


@pytest.fixture
def suite_files() -> tuple[str, ...]:
    return ("test_perf.py",)


def _baseline_file(pytester: pytest.Pytester) -> Path:
    (path,) = (pytester.path / "baselines").glob("*/perf.json")
    return path


@pytest.mark.measures
def test_record_then_compare_then_catch_a_regression_then_keep_a_malformed_file(suites, pytester):
    result = suites(*QUICK, "--update-baselines")
    result.assert_outcomes(passed=2)
    path = _baseline_file(pytester)
    shown = path.relative_to(pytester.path)  # the run starts in pytester.path
    result.stdout.fnmatch_lines(
        [f"triton perf baselines: 2 entries recorded into {shown}; review the diff and commit it"]
    )
    stored = json.loads(path.read_text())
    assert stored["software"]["triton"] == "2.51.0"
    assert stored["entries"][CONFIG]["throughput"]["direction"] == "higher"
    assert stored["entries"][CONFIG]["throughput"]["value"] > 0
    assert stored["entries"][CONFIG]["server_cpu_us"]["value"] > 0  # the local server's CPU time per inference
    # The model's first requests after its load, once per deployment.
    cold = stored["entries"][CONFIG.replace("/c1", "/cold")]
    assert cold["load_time"]["unit"] == "s" and 0 < cold["load_time"]["value"] < 120
    assert 0 < cold["first_response"]["value"] and 0 < cold["first_requests"]["value"]
    # Tolerances live in the file, per entry. Other tests share these two cores and move latency by 2-3x,
    # so this run accepts anything: it checks the comparison and the report, not this machine.
    for entries in stored["entries"].values():
        for entry in entries.values():
            entry["tolerance"] = 10.0
    path.write_text(json.dumps(stored, indent=2, sort_keys=True))
    # A second run is judged against what was recorded; the report directory gets its files, the history a copy.
    result = suites(*QUICK, "--triton-report=report", "--triton-history=history")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "triton perf baselines: *",
            f"{CONFIG}*throughput*",
            "triton report: *summary.md (3 plots)",
            "triton history: kept history/*-cpu-*.json",
        ]
    )
    (kept,) = (pytester.path / "history").glob("*.json")
    compared = pytester.run(sys.executable, "-m", "pytest_triton.report.compare", "report", str(kept))
    assert compared.ret == 0
    # The same figures: every one is ok (how many depends on the requests measured: a p99 bound needs 459).
    compared.stdout.re_match_lines([r"triton compare: \d+ ok$"])
    compared.stdout.fnmatch_lines([f"{CONFIG}*server_cpu_us*ok", f"{CONFIG}*throughput*ok"])
    report = json.loads((pytester.path / "report" / "report.json").read_text())
    assert CONFIG in {c["config"] for c in report["comparisons"]}
    for plot in ("latency_vs_throughput.png", "against_baseline.png"):  # with the baselines drawn beside the run
        assert (pytester.path / "report" / plot).stat().st_size > 10_000
    # A baseline a hundred times better than anything this machine does is a regression the run must fail on.
    stored["entries"][CONFIG]["throughput"].update(
        value=stored["entries"][CONFIG]["throughput"]["value"] * 100, noise=0.0, tolerance=0.05
    )
    # So is a first response a hundred times faster: the model is reloaded and its cold start taken again.
    first = stored["entries"][CONFIG.replace("/c1", "/cold")]["first_response"]
    first.update(value=first["value"] / 100, tolerance=0.05)
    path.write_text(json.dumps(stored, indent=2, sort_keys=True))
    # perf_analyzer's 10% stability rule: the measured noise stays small enough to rule it out as the cause.
    result = suites(*QUICK, "--triton-perf-stability=10", "--triton-perf-window=1")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*throughput*regression*",
            "*/cold: reloaded, first response * ms",
            "*/cold first_response: regression*; confirmed by a second measurement*",
        ]
    )
    # A baseline file that is not one is named, and recording over it keeps it as it was.
    path.write_text('{"entries": "not a mapping"}')
    result = suites(*QUICK, *NO_CALIBRATION, "--update-baselines")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines([f"*{path.name}*"])
    assert path.read_text() == '{"entries": "not a mapping"}'


def test_missing_baseline_is_reported_and_fails_when_strict(suites):
    # Without --triton-strict-baselines a missing baseline only shows in the summary (tests/baselines checks both).
    result = suites(*QUICK, *NO_CALIBRATION, "--triton-strict-baselines")
    result.assert_outcomes(failed=1, deselected=1)
    # Apart: the failure comes before the summary, and the short summary shows it only where the terminal is wide.
    result.stdout.fnmatch_lines(["*strict mode: a baseline is required*"])
    result.stdout.fnmatch_lines(["triton perf baselines: *missing*"])


def test_the_throughput_against_the_reference_is_recorded_and_gated_when_asked(suites, pytester):
    referenced = ("--triton-perf-reference=2", *NO_CALIBRATION)
    junit = pytester.path / "junit.xml"
    in_process = ("--triton-perf-in-process", f"--junitxml={junit}", "-o", "junit_family=xunit1")
    result = suites(*QUICK, *referenced, *in_process, "--update-baselines")
    result.assert_outcomes(passed=1, deselected=1)
    # The exported model timed in process, beside the served throughput: serving costs something (the python
    # runner, a request's protobuf and the network, one batch at a time); no MFU on a CPU, which has no known peak.
    properties = {p.get("name"): p.get("value") for p in ElementTree.parse(junit).iter("property")}
    assert float(properties["in_process.throughput_infer_per_s"]) > 0
    assert 0 < float(properties["c1.served_vs_in_process"]) < 1.5
    assert "c1.mfu" not in properties and float(properties["c1.throughput_vs_reference"]) > 0
    path = _baseline_file(pytester)
    stored = json.loads(path.read_text())
    entry = stored["entries"][CONFIG]["throughput_vs_reference"]
    assert (entry["unit"], entry["direction"], entry["tolerance"]) == ("x", "higher", TOLERANCE)
    assert entry["value"] > 0 and entry["noise"] >= 0
    # Other tests share these two cores: every other figure is accepted, and the ratio stored a hundred times
    # higher than anything this model reaches, so that only the ratio can fail.
    for entries in stored["entries"].values():
        for other in entries.values():
            other["tolerance"] = 10.0
    entry.update(value=entry["value"] * 100, noise=0.0, tolerance=TOLERANCE)
    path.write_text(json.dumps(stored, indent=2, sort_keys=True))
    result = suites(*QUICK, *referenced)
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*throughput_vs_reference: regression*; measured again, 4 slice pairs pooled*"])
    # Without the option, the stored ratio is not judged: nothing measured it.
    result = suites(*QUICK, *NO_CALIBRATION)
    result.assert_outcomes(passed=1, deselected=1)
    # Nor recorded: the rest is, and the run says the stored ratio is now from another state of the model.
    result = suites(*QUICK, *NO_CALIBRATION, "--update-baselines", "-rs")
    result.assert_outcomes(skipped=1, deselected=1)
    result.stdout.fnmatch_lines(["*throughput_vs_reference: recorded before and not measured now*"])
