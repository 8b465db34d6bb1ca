"""Synthetic workloads and the calibration models' configuration."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.models.spec import TensorSpec
from pytest_triton.perf.calibration import identity_model, sleep_model
from pytest_triton.perf.workload import Workload, synthetic_workload

SPECS = (TensorSpec("ids", "int64", (-1,)), TensorSpec("mask", "bool", (4,)), TensorSpec("x", "float16", (2, 3)))


def test_synthetic_inputs_have_the_batch_shape_and_dtype_and_are_seeded():
    workload = synthetic_workload("m", SPECS, (TensorSpec("y", "float32", (1,)),), batch_size=3, shapes={"ids": (7,)})

    assert {n: (a.shape, a.dtype) for n, a in workload.inputs.items()} == {
        "ids": ((3, 7), np.dtype("int64")),
        "mask": ((3, 4), np.dtype("bool")),
        "x": ((3, 2, 3), np.dtype("float16")),
    }
    assert 0 <= workload.inputs["ids"].min() and workload.inputs["ids"].max() < 100
    assert workload.outputs == ("y",) and workload.batch_size == 3
    again = synthetic_workload("m", SPECS, (), batch_size=3, shapes={"ids": (7,)})
    assert all(np.array_equal(workload.inputs[n], again.inputs[n]) for n in workload.inputs)


def test_unbatched_workloads_count_one_inference_per_request():
    workload = synthetic_workload("m", SPECS[1:], (), batch_size=4, batched=False)
    assert workload.inputs["x"].shape == (2, 3) and workload.batch_size == 1 and not workload.batched


def test_variable_dims_need_a_shape():
    with pytest.raises(ValueError, match="ids"):
        synthetic_workload("m", SPECS, ())
    with pytest.raises(ValueError):
        Workload("m", {}, ())


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
