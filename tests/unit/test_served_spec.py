"""models.served: a spec from what the server reports, with seeded inputs in sensible ranges and no torch."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.models.served import DEFAULT_VARIABLE_DIM, served_spec, unread_spec
from pytest_triton.models.spec import TensorSpec

# As gRPC reports them: dims as strings, the batch dimension first where the model batches.
BATCHING = {
    "inputs": [
        {"name": "TEXT", "datatype": "BYTES", "shape": ["-1", "1"]},
        {"name": "X", "datatype": "FP32", "shape": ["-1", "-1", "3"]},
        {"name": "IDS", "datatype": "INT64", "shape": ["-1", "5"]},
        {"name": "FLAG", "datatype": "BOOL", "shape": ["-1", "2"]},
    ],
    "outputs": [{"name": "Y", "datatype": "FP16", "shape": ["-1", "-1"]}],
}


def test_signature_without_the_batch_dimension():
    spec = served_spec("m", BATCHING, max_batch_size=8)
    assert spec.inputs == (
        TensorSpec("TEXT", "object_", (1,)),
        TensorSpec("X", "float32", (-1, 3)),
        TensorSpec("IDS", "int64", (5,)),
        TensorSpec("FLAG", "bool", (2,)),
    )
    assert spec.outputs == (TensorSpec("Y", "float16", (-1,)),)
    assert (spec.max_batch_size, spec.build, spec.from_server) == (8, None, False)


def test_samples_are_one_row_and_a_few_rows_in_sensible_ranges():
    cases = served_spec("m", BATCHING, max_batch_size=8).make_samples()
    assert [(c.label, c.batch_size) for c in cases] == [("b1", 1), ("b4", 4)]
    b4 = cases[1].inputs
    assert b4["TEXT"].shape == (4, 1) and b4["TEXT"].dtype == object and isinstance(b4["TEXT"][0, 0], bytes)
    assert b4["X"].shape == (4, DEFAULT_VARIABLE_DIM, 3) and b4["X"].dtype == np.float32
    assert b4["IDS"].dtype == np.int64 and 0 <= b4["IDS"].min() and b4["IDS"].max() < 100
    assert b4["FLAG"].dtype == bool


def test_samples_are_the_same_on_every_call_and_differ_between_models():
    first, again = (served_spec("m", BATCHING, 8).make_samples()[1].inputs["X"] for _ in range(2))
    other = served_spec("n", BATCHING, 8).make_samples()[1].inputs["X"]
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_small_max_batch_size_caps_the_sample_batch():
    assert [c.batch_size for c in served_spec("m", BATCHING, max_batch_size=2).make_samples()] == [1, 2]


def test_a_model_without_batching_keeps_every_dimension():
    metadata = {
        "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [4]}],
        "outputs": [{"name": "OUTPUT0", "datatype": "FP32", "shape": [4]}],
    }
    spec = served_spec("add", metadata, max_batch_size=0)
    assert spec.inputs == (TensorSpec("INPUT0", "float32", (4,)),)
    (case,) = spec.make_samples()
    assert (case.label, case.inputs["INPUT0"].shape) == ("nobatch", (4,))


def test_variable_dims_take_the_given_shape_by_model_or_by_input():
    by_input = served_spec("m", BATCHING, 8, {"X": (16, 3)}).make_samples()[0].inputs["X"]
    by_model = served_spec("m", BATCHING, 8, {"X": (16, 3), "m/X": (5, 3)}).make_samples()[0].inputs["X"]
    assert (by_input.shape, by_model.shape) == ((1, 16, 3), (1, 5, 3))


@pytest.mark.parametrize("shape", [(16,), (16, 4)])
def test_a_shape_that_does_not_fit_says_so(shape):
    with pytest.raises(TritonPluginError, match=r"the shape .* given for input 'X' does not fit its dims \[-1, 3\]"):
        served_spec("m", BATCHING, 8, {"X": shape})


def test_a_datatype_without_samples_is_unsupported():
    metadata = {"inputs": [{"name": "B", "datatype": "FP8", "shape": [2]}], "outputs": BATCHING["outputs"]}
    with pytest.raises(Unsupported, match="tensor 'B' has datatype FP8, which the checks cannot generate"):
        served_spec("m", metadata, 0)


def test_unread_spec_is_a_name_the_session_fills_in():
    spec = unread_spec("their-model")
    assert (spec.name, spec.from_server, spec.build, spec.inputs) == ("their-model", True, None, ())


def test_bf16_tensors_are_served_as_bfloat16_and_counted_as_floats():
    """tritonclient sends and reads BF16 as ml_dtypes' bfloat16, which numpy calls kind "V"."""
    from pytest_triton.models.spec import is_float_dtype

    spec = served_spec(
        "ft", {"inputs": [{"name": "X", "datatype": "BF16", "shape": [-1, 3]}], "outputs": BATCHING["outputs"]}, 4
    )
    (tensor,) = spec.inputs
    assert tensor.dtype == "bfloat16" and tensor.is_float
    x = spec.make_samples()[0].inputs["X"]
    assert x.dtype.name == "bfloat16" and x.shape == (1, 3) and np.isfinite(x.astype(np.float32)).all()
    assert is_float_dtype("float16") and not is_float_dtype("int32") and not is_float_dtype("object")
