"""Synthetic workloads and the calibration models' configuration."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.models.spec import TensorSpec
from pytest_triton.perf.calibration import identity_model, sleep_model
from pytest_triton.perf.workload import CHECK_EVERY, Workload, synthetic_workload

SPECS = (TensorSpec("ids", "int64", (-1,)), TensorSpec("mask", "bool", (4,)), TensorSpec("x", "float16", (2, 3)))


def test_synthetic_inputs_have_the_batch_shape_and_dtype_and_are_seeded():
    workload = synthetic_workload("m", SPECS, (TensorSpec("y", "float32", (1,)),), batch_size=3, shapes={"ids": (7,)})

    assert {n: (a.shape, a.dtype) for n, a in workload.requests[0].items()} == {
        "ids": ((3, 7), np.dtype("int64")),
        "mask": ((3, 4), np.dtype("bool")),
        "x": ((3, 2, 3), np.dtype("float16")),
    }
    assert 0 <= workload.requests[0]["ids"].min() and workload.requests[0]["ids"].max() < 100
    assert workload.outputs == ("y",) and workload.batch_size == 3
    again = synthetic_workload("m", SPECS, (), batch_size=3, shapes={"ids": (7,)})
    assert all(np.array_equal(workload.requests[0][n], again.requests[0][n]) for n in workload.requests[0])


def test_unbatched_workloads_count_one_inference_per_request():
    workload = synthetic_workload("m", SPECS[1:], (), batch_size=4, batched=False)
    assert workload.requests[0]["x"].shape == (2, 3) and workload.batch_size == 1 and not workload.batched


def test_variable_dims_need_a_shape():
    with pytest.raises(ValueError, match="ids"):
        synthetic_workload("m", SPECS, ())
    with pytest.raises(ValueError):
        Workload("m", ({},), ())
    with pytest.raises(ValueError, match="different inputs"):
        Workload("m", ({"a": np.zeros(1)}, {"b": np.zeros(1)}), ())


def test_requests_rotate_and_one_round_in_check_every_is_checked():
    requests = tuple({"x": np.full((1, 1), i, np.float32)} for i in range(3))
    unchecked = Workload("m", requests, ("y",))
    workload = Workload("m", requests, ("y",), check=lambda index, outputs: None)

    assert [int(workload.request(i)["x"][0, 0]) for i in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    again = 3 * CHECK_EVERY  # the first request of the next round checked
    assert [i for i in range(again + 4) if workload.checks(i)] == [0, 1, 2, again, again + 1, again + 2]
    assert not any(unchecked.checks(i) for i in range(100))


def test_sleep_model_config_carries_its_sleep_and_its_known_answer():
    model = sleep_model(12.5)
    config = model.config()

    assert model.name == "calibration_sleep_12p5ms"
    assert config.backend == "python"
    assert config.parameters["sleep_ms"].string_value == "12.5"
    assert not config.HasField("dynamic_batching")
    assert model.expected_throughput() == pytest.approx(80.0)
    assert model.expected_throughput(batch_size=4) == pytest.approx(320.0)
    with pytest.raises(ValueError):
        identity_model().expected_throughput()
