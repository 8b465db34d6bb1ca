"""Bad input gives one clear message that says what to do: never a traceback, never a hang."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def _no_traceback(result) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text


def test_unknown_model_lists_valid_choices(suites):
    result = suites("--triton-models=bert-huge")
    assert result.ret == 4  # pytest's usage error
    result.stderr.fnmatch_lines(
        ["ERROR: --triton-models: unknown 'bert-huge'; valid choices: bert-tiny, *resnext-small*"]
    )
    _no_traceback(result)


def test_unknown_format_and_bad_tolerance(suites):
    result = suites("--triton-formats=savedmodel")
    result.stderr.fnmatch_lines(
        ["ERROR: --triton-formats: unknown 'savedmodel'; valid choices: ts-script, ts-trace, onnx, trt"]
    )
    result = suites("--triton-tolerance=fp16:atol=lots")
    result.stderr.fnmatch_lines(["ERROR: --triton-tolerance='fp16:atol=lots': 'atol=lots' is not atol=NUMBER*"])


@pytest.mark.parametrize("suite_files", [("test_perf.py",)])
def test_input_data_for_a_model_the_run_does_not_measure_is_named(suites, tmp_path: Path):
    (tmp_path / "requests.json").write_text('{"data": [{"X": [1.0]}]}')
    result = suites("--triton-models=resnext-small", f"--triton-perf-input-data=bert-tiny={tmp_path / 'requests.json'}")
    result.assert_outcomes(errors=1)  # the perf suite's collection; nothing runs
    result.stdout.fnmatch_lines(
        ["*pytest-triton: input data is given for bert-tiny, which this run does not measure (it measures "
         "resnext-small) (--triton-perf-input-data)*"]
    )  # fmt: skip
    _no_traceback(result)


def _stopped_at_the_first_test(result, message: str) -> None:
    """The server starts at the first test that needs one; one that cannot start errors that test with the reason
    and stops the run."""
    assert result.ret == 1
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"! pytest-triton: {message} !"])
    assert "During handling" not in result.stdout.str()


def test_missing_server_binary(suites, tmp_path: Path):
    result = suites(f"--triton-server={tmp_path / 'tritonserver'}")
    _stopped_at_the_first_test(result, "*tritonserver: no executable file there*(--triton-server)")
    _no_traceback(result)


def test_unreachable_url_fails_fast_with_advice(suites):
    """The run asks the server which models it serves while collecting: each suite module says why it cannot."""
    result = suites("--triton-url=127.0.0.1:9", "--triton-start-timeout=2", timeout=60)
    result.assert_outcomes(errors=2)
    message = (
        "the server at 127.0.0.1:9: not ready after 2 s*Check the address and port*(--triton-url, --triton-protocol)"
    )
    result.stdout.fnmatch_lines([f"pytest-triton: {message}"] * 2)
    _no_traceback(result)


def test_unreachable_url_with_named_models_stops_at_the_first_test(suites):
    result = suites("--triton-url=127.0.0.1:9", "--triton-models=theirs", "--triton-start-timeout=2", timeout=60)
    _stopped_at_the_first_test(
        result,
        "the server at 127.0.0.1:9: not ready after 2 s*Check the address and port*(--triton-url, --triton-protocol)",
    )
    _no_traceback(result)


def test_gpu_that_does_not_exist(suites):
    result = suites("--triton-gpu=7")
    _stopped_at_the_first_test(result, "GPU 7 does not exist: this machine has * CUDA device(s)*(--triton-gpu)")


def test_model_that_fails_to_load_shows_the_servers_reason(suites, tmp_path: Path, small, small_export: Path):
    # A truncated artifact in a cache (a disk that filled up, say) makes the server refuse the model.
    cache = tmp_path / "exports"
    shutil.copytree(small_export, cache / small_export.name)
    artifact = cache / small_export.name / "model.onnx"
    artifact.write_bytes(artifact.read_bytes()[:1000])
    result = suites(*small, f"--triton-cache-dir={cache}")
    # The model's first test fails, with the server's log beside it; its others skip, pointing at that failure.
    result.assert_outcomes(passed=1, errors=1, skipped=10)
    result.stdout.fnmatch_lines(
        [
            "*the server could not load model 'resnext-small-onnx-fp32': load failed for model*",
            "*tritonserver log (tail)*",
            "*failed to load 'resnext-small-onnx-fp32'*",
        ]
    )
    output = result.stdout.str()
    # The backend probes' expected load failures are left out of the tail: they read like the cause; so are the
    # start-up table and what every server logs without a GPU.
    assert "pytest_triton_probe_" not in output and "| model_control_mode" not in output and "NVML" not in output
    _no_traceback(result)
