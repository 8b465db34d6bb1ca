"""Models nobody here wrote a spec for: a model repository written by hand, served beside the run's own, and the
models of a remote server. Their signatures come from the server; no torch is imported to check them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPOSITORY = HERE / "others_repository"
FAULTY = HERE / "faulty_repository"

NO_REFERENCE_SUITES = ("test_conformance.py", "test_parity.py", "test_consistency.py")


@pytest.mark.parametrize("suite_files", [NO_REFERENCE_SUITES])
def test_a_repository_written_by_hand_is_checked_without_model_code(suites, heavy_imports):
    result = suites(f"--triton-model-repository={REPOSITORY}", "-rs")
    # add_sub (no batching): 8 passed, 3 skipped; text_length and scale: 10 passed, 1 skipped each; no_config:
    # 11 errors with the server's reason; the server itself: 1 passed.
    result.assert_outcomes(passed=29, skipped=5, errors=11)
    result.stdout.fnmatch_lines_random(
        [
            "*add_sub does not batch (max_batch_size 0): there is no batch size to exceed",
            "*add_sub takes one row per request at most (max_batch_size 0)*",
            "*'scale' has no reference model (its signature came from the server)*golden outputs (--triton-golden)",
            "*the server could not load model 'no_config'*",
            "*Could not determine backend for model 'no_config'*",
        ]
    )
    assert heavy_imports() == []


@pytest.mark.parametrize("suite_files", [("test_consistency.py",)])
def test_variable_dims_take_the_sizes_given(suites, pytester):
    result = suites(
        f"--triton-model-repository={REPOSITORY}", "--triton-models=scale", "--triton-input-shape=scale/X=5", "-v"
    )
    result.assert_outcomes(passed=2)
    bad = suites(f"--triton-model-repository={REPOSITORY}", "--triton-models=scale", "--triton-input-shape=X=5x2")
    bad.assert_outcomes(errors=2)
    bad.stdout.fnmatch_lines(["*the shape 5x2 given for input 'X' does not fit its dims [[]-1[]]*"])


@pytest.mark.parametrize("suite_files", [("test_consistency.py",)])
def test_models_that_answer_inconsistently_fail_the_consistency_suite(suites):
    result = suites(f"--triton-model-repository={FAULTY}")
    result.assert_outcomes(failed=4, passed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*rows_reversed: batched rows against rows alone:",
            "*b4 row 0 in the batch: Y: max_abs *",
            "*merge_broken: batched rows against rows alone:",
            "*b4 row * sent concurrently: Y: max_abs *",
            "*noisy: the same request twice:",
            "*Y: * of * elements differ between two identical requests",
        ]
    )


@pytest.mark.parametrize("suite_files", [("test_parity.py",)])
def test_golden_outputs_saved_then_checked_and_refused_when_they_do_not_fit(suites, heavy_imports, small, tmp_path):
    golden = tmp_path / "golden"
    saved = suites(*small, f"--triton-save-golden={golden}")
    saved.assert_outcomes(passed=1)
    assert sorted(p.name for p in (golden / "resnext-small").iterdir()) == ["golden.json", "golden.npz"]
    checked = suites(*small, f"--triton-golden={golden}", "-rs")
    checked.assert_outcomes(passed=1)
    # Golden outputs of another model under a served model's name: refused, naming the file and the tensors.
    shutil.copytree(golden / "resnext-small", golden / "add_sub")
    other = suites(f"--triton-model-repository={REPOSITORY}", f"--triton-golden={golden}", "-rs")
    other.assert_outcomes(failed=1, skipped=2, errors=1)
    other.stdout.fnmatch_lines_random(
        [
            "*golden/add_sub/golden.json: the golden inputs [[]'input'[]] are not those of the served model 'add_sub'*",
            "*no golden outputs for 'scale' in * (it holds add_sub, resnext-small)*",
        ]
    )
    assert heavy_imports() == []
