"""Installed into a project that does not use it, the plugin stays out of the way: no server, no heavy import, no
temporary directory left behind, and `pytest --help` works."""

from __future__ import annotations

from pathlib import Path

import pytest

TRIVIAL = """
import sys

HEAVY = ("torch", "transformers", "onnxruntime", "tritonclient", "matplotlib", "numpy")


def test_arithmetic():
    assert 1 + 1 == 2


def test_nothing_heavy_was_imported():
    assert [name for name in HEAVY if name in sys.modules] == []
"""


@pytest.mark.parametrize("extra", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_a_run_without_triton_tests_starts_and_leaves_nothing(pytester, monkeypatch, tmp_path: Path, extra):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the plugin would put its work and results directories
    pytester.makepyfile(test_trivial=TRIVIAL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *extra)
    result.assert_outcomes(passed=2)
    assert "plugins:" in result.stdout.str() and "triton-" in result.stdout.str()  # the plugin was loaded
    assert not any(line.startswith("triton:") for line in result.stdout.lines)
    assert list(scratch.iterdir()) == []


def test_triton_ini_keys_are_checked_without_importing_anything_heavy(pytester):
    """A project that sets triton_* ini keys for its suite runs still pays nothing in its other runs: the values are
    checked at start-up (a bad one stops the run), with no numpy, torch or client imported."""
    pytester.makepyfile(test_trivial=TRIVIAL)
    pytester.makeini("[pytest]\ntriton_formats = onnx\ntriton_precisions = fp32\ntriton_perf_concurrency = 1,2\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    pytester.makeini("[pytest]\ntriton_formats = savedmodel\n")
    refused = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    refused.stderr.fnmatch_lines(["ERROR: --triton-formats: unknown 'savedmodel'*"])


def test_help_lists_the_options(pytester):
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*--triton-perf-stability=*", "*stable when the last 3 windows agree within*"])
