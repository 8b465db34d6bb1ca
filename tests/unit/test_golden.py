"""checks.golden: golden outputs written and read back, and every way a golden directory can be unusable gives
one message naming the file (and the tensor)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil

import numpy as np
import pytest

from pytest_triton.checks.golden import ARRAYS, MANIFEST, GoldenFileError, load_golden, save_golden
from pytest_triton.checks.tolerance import Tolerances, parse_tolerances
from pytest_triton.errors import Unsupported
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec, Tolerance

SPEC = ModelSpec(
    name="tagger",
    family="custom",
    build=None,
    inputs=(TensorSpec("text", "object_", (1,)), TensorSpec("x", "float32", (-1,))),
    outputs=(TensorSpec("scores", "float32", (-1,)), TensorSpec("label", "object_", (1,))),
    make_samples=list,
    tolerances={"fp16": {"scores": Tolerance(0.1, 0.1, 0.05)}},
)


def expected():
    rng = np.random.default_rng(0)
    cases = []
    for batch, length in ((1, 3), (2, 5)):
        inputs = {
            "text": np.array([[f"row {i}".encode()] for i in range(batch)], dtype=object),
            "x": rng.standard_normal((batch, length)).astype(np.float32),
        }
        mask = np.ones((batch, length), bool)
        mask[:, -1] = False
        outputs = {"scores": inputs["x"] * 2, "label": np.array([[b"yes"]] * batch, dtype=object)}
        cases.append((SampleCase(batch, f"b{batch}", inputs, {"scores": mask}), outputs))
    return cases


@contextlib.contextmanager
def edited_manifest(golden_dir):
    """The saved manifest as a dict to change; written back when the block ends."""
    path = golden_dir / "tagger" / MANIFEST
    manifest = json.loads(path.read_text())
    yield manifest
    path.write_text(json.dumps(manifest))


@pytest.fixture
def golden_dir(tmp_path):
    save_golden(tmp_path, SPEC, expected(), parse_tolerances([]), weights_digest="abc", reference="test")
    return tmp_path


def test_round_trip_keeps_inputs_outputs_masks_and_tolerances(golden_dir):
    golden = load_golden(golden_dir, "tagger")
    assert (golden.inputs, golden.outputs) == (SPEC.inputs, SPEC.outputs)
    for (case, outputs), (want_case, want_outputs) in zip(golden.expected, expected(), strict=True):
        assert (case.label, case.batch_size) == (want_case.label, want_case.batch_size)
        for got, want in (
            (case.inputs, want_case.inputs),
            (outputs, want_outputs),
            (case.compared, want_case.compared),
        ):
            assert set(got) == set(want)
            for name in want:
                assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name])
    assert golden.tolerances_at("fp32")["scores"] == Tolerances().by_precision["fp32"]
    assert golden.tolerances_at("fp16")["scores"] == Tolerance(0.1, 0.1, 0.05)  # the spec's own
    golden.check_fits(SPEC)


def test_a_chosen_error_statistic_is_kept_and_a_bad_one_refused(tmp_path):
    save_golden(tmp_path, SPEC, expected(), parse_tolerances(["fp32:statistic=p99.9"]), weights_digest="", reference="")
    assert load_golden(tmp_path, "tagger").tolerances_at("fp32")["scores"].statistic == "p99.9"
    manifest_path = tmp_path / "tagger" / "golden.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tolerances"]["fp32"]["scores"]["statistic"] = "worst"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(GoldenFileError, match=r"\$\.tolerances\.fp32\.scores\.statistic: 'worst' does not match"):
        load_golden(tmp_path, "tagger")


def test_a_model_without_golden_outputs_skips_and_names_those_there(golden_dir):
    with pytest.raises(Unsupported, match=r"no golden outputs for 'other' in .* \(it holds tagger\)"):
        load_golden(golden_dir, "other")


def test_a_renamed_directory_serves_a_model_of_another_name(golden_dir):
    shutil.copytree(golden_dir / "tagger", golden_dir / "tagger-v2")
    assert load_golden(golden_dir, "tagger-v2").expected


def test_manifest_that_is_not_json(golden_dir):
    (golden_dir / "tagger" / MANIFEST).write_text("{")
    with pytest.raises(GoldenFileError, match=r"golden manifest .*tagger/golden.json cannot be read: Expecting"):
        load_golden(golden_dir, "tagger")


def test_manifest_against_the_schema_names_the_field(golden_dir):
    with edited_manifest(golden_dir) as manifest:
        manifest["cases"][1]["batch_size"] = 0
    with pytest.raises(GoldenFileError, match=r"does not match the golden schema:\n  \$\.cases\[1\]\.batch_size: 0"):
        load_golden(golden_dir, "tagger")


def test_arrays_changed_after_writing_are_refused(golden_dir):
    other = golden_dir / "other"
    spec = ModelSpec(**{**SPEC.__dict__, "name": "other"})
    changed = expected()
    changed[0][1]["scores"] = changed[0][1]["scores"] + 1
    save_golden(golden_dir, spec, changed, Tolerances(), weights_digest="abc", reference="test")
    shutil.copy(other / ARRAYS, golden_dir / "tagger" / ARRAYS)
    with pytest.raises(GoldenFileError, match=r"tagger/golden.npz does not hold the arrays golden.json was written"):
        load_golden(golden_dir, "tagger")


def test_arrays_that_are_not_an_npz(golden_dir):
    (golden_dir / "tagger" / ARRAYS).write_bytes(b"not a zip")
    with pytest.raises(GoldenFileError, match=r"golden arrays .*tagger/golden.npz cannot be read"):
        load_golden(golden_dir, "tagger")


def test_missing_arrays_file(golden_dir):
    (golden_dir / "tagger" / ARRAYS).unlink()
    with pytest.raises(GoldenFileError, match=r"golden arrays .*golden.npz cannot be read: No such file"):
        load_golden(golden_dir, "tagger")


def test_an_array_the_manifest_names_but_the_file_lacks(golden_dir):
    with edited_manifest(golden_dir) as manifest:
        manifest["outputs"].append({"name": "extra", "dtype": "float32", "dims": [2]})
    with pytest.raises(GoldenFileError, match=r"golden.npz lacks the array case0/output/extra \(output 'extra'\)"):
        load_golden(golden_dir, "tagger")


def test_golden_outputs_of_another_model_name_both_signatures(golden_dir):
    other = ModelSpec(**{**SPEC.__dict__, "inputs": (TensorSpec("image", "float32", (3, 8, 8)),)})
    with pytest.raises(GoldenFileError, match=r"the golden inputs \['text', 'x'\] are not those of the served model"):
        load_golden(golden_dir, "tagger").check_fits(other)


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ((TensorSpec("text", "object_", (1,)), TensorSpec("x", "int64", (-1,))), "but int64[-1] in the served"),
        ((TensorSpec("text", "object_", (1,)), TensorSpec("x", "float32", (4, 4))), "but float32[4, 4] in the served"),
    ],
)
def test_an_input_of_another_type_or_shape_is_named(golden_dir, inputs, says):
    with pytest.raises(
        GoldenFileError, match=r"golden.json: input 'x' is float32\[-1\] in the golden outputs " + re.escape(says)
    ):
        load_golden(golden_dir, "tagger").check_fits(ModelSpec(**{**SPEC.__dict__, "inputs": inputs}))


def test_an_output_the_served_model_lacks_is_named(golden_dir):
    spec = ModelSpec(**{**SPEC.__dict__, "outputs": SPEC.outputs[:1]})
    with pytest.raises(GoldenFileError, match="output 'label' is not an output of the served model 'tagger'"):
        load_golden(golden_dir, "tagger").check_fits(spec)


def test_a_precision_without_tolerances(golden_dir):
    with edited_manifest(golden_dir) as manifest:
        del manifest["tolerances"]["fp16"]
    with pytest.raises(GoldenFileError, match="holds tolerances for bf16, fp32, not fp16"):
        load_golden(golden_dir, "tagger").tolerances_at("fp16")


def test_a_tolerance_block_without_an_output(golden_dir):
    with edited_manifest(golden_dir) as manifest:
        del manifest["tolerances"]["fp32"]["scores"]
    with pytest.raises(GoldenFileError, match="the fp32 tolerances lack output 'scores'"):
        load_golden(golden_dir, "tagger").tolerances_at("fp32")


def test_a_dtype_numpy_does_not_know_is_refused_by_the_schema(golden_dir):
    with edited_manifest(golden_dir) as manifest:
        manifest["inputs"][1]["dtype"] = "FP32"
    with pytest.raises(GoldenFileError, match=r"\$\.inputs\[1\]\.dtype: 'FP32' is not one of"):
        load_golden(golden_dir, "tagger")


def test_text_outputs_compare_exactly():
    from pytest_triton.checks.parity import compare
    from pytest_triton.errors import CheckFailed

    text = np.array([[b"yes"], [b"no"]], dtype=object)
    tolerance = {"label": Tolerances().by_precision["fp32"]}
    (same,) = compare({"label": text.copy()}, {"label": text}, tolerance)
    assert same.within and same.max_abs == 0
    with pytest.raises(CheckFailed, match="output label: 1 of 2 elements differ"):
        compare({"label": np.array([[b"yes"], [b"yes"]], dtype=object)}, {"label": text}, tolerance)
