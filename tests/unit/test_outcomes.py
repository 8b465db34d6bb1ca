"""The one mapping from the library's errors to pytest outcomes, and the flags it adds to their advice."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pytest_triton.errors import CheckFailed, ExportError, ModelLoadError, SpecError, TritonPluginError, Unsupported
from pytest_triton.options import OPTIONS
from pytest_triton.outcomes import advised, note_failure, server_log_helps, triton_outcome, triton_verdict

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_triton"


def test_advice_names_the_flags_of_the_settings_the_remedy_changes():
    error = TritonPluginError("GPU 7 does not exist", options=("triton_gpu",))
    assert advised(error) == "GPU 7 does not exist (--triton-gpu)"
    assert advised(TritonPluginError("no remedy in a setting")) == "no remedy in a setting"


def test_unsupported_skips_with_its_reason():
    with pytest.raises(pytest.skip.Exception, match=r"^TensorRT needs a GPU \(--triton-gpu\)$"):
        with triton_outcome():
            raise Unsupported("TensorRT needs a GPU", options=("triton_gpu",))


def test_a_library_error_fails_without_a_traceback():
    with pytest.raises(pytest.fail.Exception) as info:
        with triton_outcome():
            raise ModelLoadError("the server refused the model")
    assert info.value.msg == "the server refused the model" and info.value.pytrace is False


def test_the_same_error_met_again_after_it_failed_a_test_skips_pointing_at_that_test():
    """A model whose export failed is asked for by every test of that model: one failure, and skips that say where."""
    error = ExportError("scorer cannot be exported as onnx fp32: kthvalue; serve it in another format")
    with pytest.raises(pytest.fail.Exception) as first:
        with triton_outcome():
            raise error
    with pytest.raises(pytest.fail.Exception):  # not reported yet (another test may not have run its report)
        with triton_outcome():
            raise error
    note_failure(first.value, "test_conformance.py::test_model_ready[scorer-onnx-fp32]")
    with pytest.raises(pytest.skip.Exception) as again:
        with triton_outcome():
            raise error
    assert again.value.msg == (
        "see the failure of test_conformance.py::test_model_ready[scorer-onnx-fp32]: scorer cannot be exported as "
        "onnx fp32: kthvalue"
    )
    with pytest.raises(pytest.fail.Exception):  # another error object is another cause
        with triton_outcome():
            raise ExportError(str(error))


def test_a_verdict_fails_with_its_report_alone():
    triton_verdict(True, lambda: "never asked for")
    with pytest.raises(pytest.fail.Exception) as info:
        triton_verdict(False, lambda: "scorer: output scores differs")
    assert info.value.msg == "scorer: output scores differs" and info.value.pytrace is False


def test_the_server_log_goes_beside_a_refused_load_or_request_and_unexplained_failures_only():
    failures = {}
    errors = {"check": CheckFailed("refused"), "load": ModelLoadError("no"), "export": ExportError("no")}
    for name, error in {**errors, "spec": SpecError("x")}.items():
        with pytest.raises(pytest.fail.Exception) as info:
            with triton_outcome():
                raise error
        failures[name] = info.value
    with pytest.raises(pytest.fail.Exception) as verdict:
        triton_verdict(False, lambda: "perf regression")
    assert server_log_helps(failures["check"]) and server_log_helps(failures["load"])
    # A built-in exception takes no weak reference: the report hook meets one at every plain assertion that fails.
    assert server_log_helps(AssertionError("the test's own"))
    note_failure(AssertionError("the test's own"), "test_x.py::test_y")
    assert not any(server_log_helps(f) for f in (failures["export"], failures["spec"], verdict.value))


def test_other_exceptions_pass_through():
    with pytest.raises(KeyError):
        with triton_outcome():
            raise KeyError("a bug, not the user's problem")


def test_every_setting_the_library_advises_is_an_option():
    """options=("...",) in the library names settings by ini name; a typo would silently drop the advice."""
    dests = {option.dest for option in OPTIONS}
    named = {
        element.value
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.keyword) and node.arg == "options" and isinstance(node.value, ast.Tuple)
        for element in node.value.elts
        if isinstance(element, ast.Constant)
    }
    assert named and named <= dests, named - dests
