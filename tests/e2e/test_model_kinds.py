"""Every kind of model a Triton team deploys, checked as what it is through the shipped suites: an ensemble and a BLS
model, sequence models of both strategies, a decoupled model; and their faulty twins, each caught with a message that
names the fault. The repositories are written by hand, as Triton's own examples are (README beside them)."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

HERE = Path(__file__).parent
KINDS = HERE / "kinds_repository"
FAULTY = HERE / "faulty_kinds_repository"
# Written for these tests by someone who had not read the project's code, from Triton's examples (README there).
OTHERS = HERE / "others_kinds_repository"
EVERY_SUITE = tuple(sorted(path.name for path in (HERE.parents[1] / "suites").glob("test_*.py")))
NO_REFERENCE_SUITES = ("test_conformance.py", "test_consistency.py")


def _properties(junit: Path) -> dict[str, dict[str, str]]:
    """Each test's JUnit properties, by test name."""
    return {
        case.get("name", ""): {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        for case in ElementTree.parse(junit).getroot().iter("testcase")
    }


def _kinds(found: dict[str, dict[str, str]]) -> dict[str, str]:
    """The kind the conformance suite found each served model to be, by model name."""
    return {
        name.split("[")[1].removesuffix("-served-fp32]"): props["kind"]
        for name, props in found.items()
        if name.startswith("test_served_as_its_kind")
    }


@pytest.mark.parametrize("suite_files", [NO_REFERENCE_SUITES])
def test_each_kind_passes_as_what_it_is(suites, pytester, heavy_imports):
    result = suites(f"--triton-model-repository={KINDS}", "--junitxml=junit.xml", "-rs")
    # 7 models x 12 tests and the server's; the decoupled repeat does not batch (no batch to exceed) and sends as many
    # responses as it likes (no batch to compare with its rows).
    result.assert_outcomes(passed=83, skipped=2)
    result.stdout.fnmatch_lines_random(
        ["*repeat is decoupled: how many responses it sends for a batch is its own choice*"]
    )
    assert heavy_imports() == []
    found = _properties(pytester.path / "junit.xml")
    kinds = _kinds(found)
    assert kinds == {
        "accumulate": "sequence (direct)",
        "running_max": "sequence (oldest)",
        "repeat": "decoupled",
        "offset_then_double": "ensemble of offset -> double",
        "offset": "stateless",
        "double": "stateless",
        "offset_double_bls": "stateless",
    }
    streamed = found["test_served_as_its_kind[repeat-served-fp32]"]
    assert streamed["nobatch.responses"] == "8"  # one per element of its 8-element input, then the final flag
    assert float(streamed["nobatch.first_response_ms"]) > 0
    # The ensemble's steps are served too, so its composition was checked: nothing is left unchecked.
    assert "not_checked" not in found["test_served_as_its_kind[offset_then_double-served-fp32]"]
    interleaved = found["test_batched_rows_match_rows_alone[accumulate-served-fp32]"]
    assert int(interleaved["concurrent_inferences"]) == 4 * 4 * 2  # 4 sequences of 4 steps, alone and interleaved


@pytest.mark.parametrize("suite_files", [("test_perf.py",)])
def test_sequences_and_ensembles_are_measured_as_such_and_a_decoupled_model_skips_saying_why(suites, pytester):
    result = suites(
        f"--triton-model-repository={KINDS}",
        "--triton-models=running_max,repeat,offset_then_double",
        "--triton-perf-sequence-length=5",
        "--triton-perf-window=0.5",
        "--junitxml=junit.xml",
        "-rs",
    )
    result.assert_outcomes(passed=3, skipped=1)  # the calibration, running_max, the ensemble; repeat skips
    result.stdout.fnmatch_lines_random(["*repeat is decoupled: the perf engines do not measure streams yet*"])
    figures = _properties(pytester.path / "junit.xml")[
        "test_throughput_and_latency_against_baseline[running_max-served-fp32-b1]"
    ]
    assert figures["sequence_length"] == "5"
    per_step = float(figures["c1.throughput_infer_per_s"])
    # Both figures are recorded rounded (infer/s to 0.01, sequences/s to 0.001) from the same unrounded throughput:
    # per_step / 5 is that throughput / 5 within 0.001, and the recorded sequences/s within 0.0005 of it.
    assert per_step > 0 and float(figures["c1.sequences_per_s"]) == pytest.approx(per_step / 5, abs=0.0015)
    # The ensemble's time at the server beside each step's, from the statistics extension.
    ensemble = _properties(pytester.path / "junit.xml")[
        "test_throughput_and_latency_against_baseline[offset_then_double-served-fp32-b1]"
    ]
    steps = [float(ensemble[f"ensemble.step.{step}.server_ms"]) for step in ("offset", "double")]
    assert all(ms > 0 for ms in steps) and float(ensemble["ensemble.server_ms"]) > 0
    assert float(ensemble["ensemble.steps_sum_ms"]) == pytest.approx(sum(steps), abs=0.002)


@pytest.mark.parametrize("suite_files", [NO_REFERENCE_SUITES])
def test_faulty_twins_are_each_caught_naming_the_fault(suites):
    result = suites(f"--triton-model-repository={FAULTY}", "--triton-stream-timeout=2", "-rs")
    # accumulate_leaky and accumulate_without_ready fail their interleaved sequences (11 passed each);
    # repeat_no_final fails its first request's test on the stall (its metadata, config and readiness pass), and
    # every later test that sends it a request skips, pointing at that failure (7), as does its batch's (1).
    result.assert_outcomes(failed=3, passed=26, skipped=8)
    result.stdout.fnmatch_lines_random(
        [
            "*accumulate_leaky: 4 sequences interleaved against each alone:",
            "*  sequence * step *: SUM: max_abs *",  # which steps leak depends on how the batcher merged them
            "*accumulate_without_ready' refused step *KeyError: 0*",
            "*the direct strategy also sends the model null requests for a batch's idle slots, with correlation ID 0*",
            "*repeat_no_final: the stream sent 8 response(s) without the final flag, then nothing for 2 s or none *",
            "*see the failure of *test_responses_match_config[[]repeat_no_final-served-fp32[]]*",
        ]
    )


@pytest.mark.parametrize("suite_files", [EVERY_SUITE])
def test_a_repository_of_every_kind_written_by_someone_else_runs_every_suite_without_a_false_failure(suites, pytester):
    result = suites(
        f"--triton-model-repository={OTHERS}",
        "--triton-perf-window=0.5",
        "--triton-perf-sequence-length=5",
        "--junitxml=junit.xml",
        "-rs",
    )
    outcomes = result.parseoutcomes()
    assert "failed" not in outcomes and "errors" not in outcomes, result.stdout.str()
    found = _properties(pytester.path / "junit.xml")
    kinds = _kinds(found)
    assert kinds == {
        "preprocess": "stateless",
        "postprocess": "stateless",
        "pipeline": "ensemble of preprocess -> postprocess",
        "pipeline_bls": "stateless",
        "square_int32": "decoupled",
        "counter_direct": "sequence (direct)",
        "accumulator_oldest": "sequence (oldest)",
    }
    # Each model checked, not only skipped: its kind's test and the consistency suite's ran on every one but the
    # decoupled model's rows-in-a-batch check, and perf measured every model but the decoupled one.
    passed = {case for case in found if not _skipped(pytester.path / "junit.xml", case)}
    for model in kinds:
        assert f"test_served_as_its_kind[{model}-served-fp32]" in passed
        assert f"test_same_request_same_answer[{model}-served-fp32]" in passed
    assert "not_checked" not in found["test_served_as_its_kind[pipeline-served-fp32]"]
    measured = [name for name, props in found.items() if "c1.throughput_infer_per_s" in props]
    assert len(measured) == len(kinds) - 1


def _skipped(junit: Path, name: str) -> bool:
    case = next(c for c in ElementTree.parse(junit).getroot().iter("testcase") if c.get("name") == name)
    return case.find("skipped") is not None
