"""Models nobody here wrote a spec for: a model repository written by hand, served beside the run's own, and the
models of a remote server. Their signatures come from the server; no torch is imported to check them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPOSITORY = HERE / "others_repository"
FAULTY = HERE / "faulty_repository"
BF16 = HERE / "bf16_repository"

NO_REFERENCE_SUITES = ("test_conformance.py", "test_parity.py", "test_consistency.py")


@pytest.mark.parametrize("suite_files", [NO_REFERENCE_SUITES])
def test_a_repository_written_by_hand_is_checked_without_model_code(suites, heavy_imports):
    result = suites(f"--triton-model-repository={REPOSITORY}", "--triton-input-shape=scale/X=5", "-rs")
    # add_sub (no batching): 10 passed, 3 skipped; text_length and scale: 12 passed, 1 skipped each; no_config: 1
    # error with the server's reason, and its 12 other tests skip pointing at it; the server itself: 1 passed.
    result.assert_outcomes(passed=35, skipped=17, errors=1)
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
def test_variable_dims_given_sizes_that_do_not_fit_are_refused(suites):
    bad = suites(f"--triton-model-repository={REPOSITORY}", "--triton-models=scale", "--triton-input-shape=X=5x2")
    bad.assert_outcomes(errors=1, skipped=1)  # the second test points at the first's failure
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


def _add_sub_golden(directory, wrong_by: float = 0.0) -> None:
    """Golden outputs of add_sub written by hand with numpy, as a team without PyTorch code would keep them."""
    import numpy as np

    from pytest_triton.checks.golden import save_golden
    from pytest_triton.checks.tolerance import Tolerances
    from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec

    tensor = (4,)
    spec = ModelSpec(
        name="add_sub",
        family="handwritten",
        build=None,
        inputs=(TensorSpec("INPUT0", "float32", tensor), TensorSpec("INPUT1", "float32", tensor)),
        outputs=(TensorSpec("OUTPUT0", "float32", tensor), TensorSpec("OUTPUT1", "float32", tensor)),
        make_samples=list,
        max_batch_size=0,
    )
    a, b = np.arange(4, dtype=np.float32), np.full(4, 0.5, np.float32)
    case = SampleCase(1, "pair", {"INPUT0": a, "INPUT1": b})
    outputs = {"OUTPUT0": a + b + wrong_by, "OUTPUT1": a - b}
    save_golden(directory, spec, [(case, outputs)], Tolerances(), weights_digest="", reference="numpy")


@pytest.mark.parametrize("suite_files", [("test_parity.py",)])
def test_golden_outputs_written_by_hand_check_a_model_and_name_what_differs(suites, heavy_imports, tmp_path):
    _add_sub_golden(tmp_path / "right")
    # Golden outputs of another model under a served model's name: refused, naming the file and the tensors.
    shutil.copytree(tmp_path / "right" / "add_sub", tmp_path / "right" / "scale")
    right = suites(f"--triton-model-repository={REPOSITORY}", f"--triton-golden={tmp_path / 'right'}", "-rs")
    right.assert_outcomes(passed=1, failed=1, skipped=1, errors=1)  # add_sub, scale, text_length, no_config
    right.stdout.fnmatch_lines_random(
        [
            "*right/scale/golden.json: the golden inputs [[]'INPUT0', 'INPUT1'[]] are not those of the served model "
            "'scale' ([[]'X'[]]); these golden outputs are of another model",
            "*no golden outputs for 'text_length' in * (it holds add_sub, scale)*",
        ]
    )
    assert heavy_imports() == []
    _add_sub_golden(tmp_path / "wrong", wrong_by=1.0)
    wrong = suites(
        f"--triton-model-repository={REPOSITORY}", "--triton-models=add_sub", f"--triton-golden={tmp_path / 'wrong'}"
    )
    wrong.assert_outcomes(failed=1)
    wrong.stdout.fnmatch_lines(
        [
            f"*add_sub differs from the golden outputs in {tmp_path / 'wrong' / 'add_sub'} beyond fp32 tolerance:",
            "*pair        OUTPUT0: max_abs 1 mean_abs 1 max_rel *",
        ]
    )


def _double_golden(directory, wrong_by: float = 0.0) -> None:
    """Golden outputs of double_bf16 in float32, as numpy (which has no bfloat16) keeps them: values bfloat16
    holds exactly, so doubling them in bfloat16 is exact too."""
    import numpy as np

    from pytest_triton.checks.golden import save_golden
    from pytest_triton.checks.tolerance import Tolerances
    from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec

    spec = ModelSpec(
        name="double_bf16",
        family="handwritten",
        build=None,
        inputs=(TensorSpec("X", "float32", (-1,)),),
        outputs=(TensorSpec("Y", "float32", (-1,)),),
        make_samples=list,
        max_batch_size=4,
    )
    x = np.array([[0.5, -1.25, 3.0, 96.0], [0.0, 2.5, -0.375, 1024.0]], np.float32)
    case = SampleCase(2, "exact-in-bf16", {"X": x})
    save_golden(directory, spec, [(case, {"Y": 2 * x + wrong_by})], Tolerances(), weights_digest="", reference="numpy")


@pytest.mark.parametrize("suite_files", [NO_REFERENCE_SUITES])
@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_bf16_tensors_are_sent_and_read_as_bfloat16(suites, tmp_path, protocol):
    """A model with BF16 inputs and outputs (a FasterTransformer deployment at data_type bf16 has them): the checks
    send bfloat16 (tritonclient takes ml_dtypes' bfloat16; HTTP needs binary data) and compare what comes back."""
    _double_golden(tmp_path / "right")
    right = suites(
        f"--triton-model-repository={BF16}", f"--triton-golden={tmp_path / 'right'}", f"--triton-protocol={protocol}"
    )
    right.assert_outcomes(passed=14)  # conformance 11, parity 1, consistency 2
    _double_golden(tmp_path / "wrong", wrong_by=0.5)
    wrong = suites(f"--triton-model-repository={BF16}", f"--triton-golden={tmp_path / 'wrong'}", "-k", "parity")
    wrong.assert_outcomes(failed=1, deselected=13)
    wrong.stdout.fnmatch_lines(["*exact-in-bf16              Y: max_abs 0.5 mean_abs 0.5 *"])


@pytest.mark.parametrize("suite_files", [("test_perf.py",)])
def test_a_model_that_answers_wrong_under_load_fails_its_perf_point(suites):
    """merge_broken answers right one request at a time and wrong whenever the dynamic batcher merges requests:
    fast and wrong, which only the answers checked during the measurement can see."""
    result = suites(
        f"--triton-model-repository={FAULTY}",
        "--triton-models=merge_broken",
        "--triton-perf-concurrency=4",
        "-k",
        "against_baseline",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*merge_broken*/c4: * of * answers checked under load differ from its own answers to the same requests "
            "one at a time beyond fp32 tolerance; the first: *Y: max_abs*",
        ]
    )


@pytest.mark.parametrize("suite_files", [("test_perf.py",)])
def test_requests_and_expected_answers_come_from_a_perf_analyzer_input_data_file(suites, pytester):
    """scale doubles its input: the file's second entry expects the wrong answer, which the answers checked under
    load catch; a file that does not fit the model is an error naming the entry."""
    import json

    data = [{"X": {"content": [1.0] * n, "shape": [n]}} for n in (3, 5)]
    expected = [{"Y": {"content": [2.0] * 3, "shape": [3]}}, {"Y": {"content": [3.0] * 5, "shape": [5]}}]
    good = pytester.path / "requests.json"
    good.write_text(json.dumps({"data": data, "validation_data": expected}))
    result = suites(
        f"--triton-model-repository={REPOSITORY}",
        "--triton-models=scale",
        f"--triton-perf-input-data=scale={good}",
        "-k",
        "against_baseline",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*scale-served-fp32-b1/c1: * of * answers checked under load differ from the input data file's "
         "validation_data beyond fp32 tolerance; the first: entries1-1 Y: max_abs 1 *"]
    )  # fmt: skip
    bad = pytester.path / "bad.json"
    bad.write_text(json.dumps({"data": [{"X": [1.0, 2.0]}]}))
    refused = suites(
        f"--triton-model-repository={REPOSITORY}", "--triton-models=scale", f"--triton-perf-input-data={bad}", "-k",
        "against_baseline",
    )  # fmt: skip
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines([f'*{bad}: data[[]0[]].X: the tensor has variable dims [[]-1[]]: give its "shape"*'])
