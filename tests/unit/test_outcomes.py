"""The one mapping from the library's errors to pytest outcomes, and the flags it adds to their advice."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pytest_triton.errors import ModelLoadError, TritonPluginError, Unsupported
from pytest_triton.options import OPTIONS
from pytest_triton.outcomes import advised, triton_outcome

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
