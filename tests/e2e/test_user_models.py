"""A user's own model, declared in their conftest.py, is picked up by every suite."""

from __future__ import annotations


def test_conftest_model_runs_through_every_suite(suites, pytester, user_model_conftest):
    pytester.makeconftest(user_model_conftest)
    result = suites(
        "--triton-models=tabular-scorer", "--triton-formats=onnx,ts-script,ts-trace", "--triton-precisions=fp32", "-v"
    )
    result.assert_outcomes(passed=1 + 3 * 9)
    result.stdout.fnmatch_lines(["*test_outputs_match_reference[[]tabular-scorer-ts-script-fp32[]] PASSED*"])


def test_unknown_name_lists_the_users_models_too(suites, pytester, user_model_conftest):
    pytester.makeconftest(user_model_conftest)
    result = suites("--triton-models=tabular")
    result.stderr.fnmatch_lines(["ERROR: --triton-models: unknown 'tabular'; valid choices: *, tabular-scorer"])
