"""The search space: its grid, its bounds, steps between neighbours, and ids that read back."""

from __future__ import annotations

import pytest

from pytest_triton.search.space import Candidate, SearchSpace, SearchSpaceError

VARIANTS = (("onnx", "fp32"), ("onnx", "fp16"))


def test_max_batch_sizes_are_powers_of_two_up_to_the_bound_and_never_above_the_export():
    assert SearchSpace.bounded(VARIANTS, 8, None, (100,), 2).max_batch_sizes == (1, 2, 4, 8)
    assert SearchSpace.bounded(VARIANTS, 8, 6, (100,), 2).max_batch_sizes == (1, 2, 4)
    assert SearchSpace.bounded(VARIANTS, 8, 64, (100,), 2).max_batch_sizes == (1, 2, 4, 8)
    assert SearchSpace.bounded(VARIANTS, 0, None, (100,), 1).max_batch_sizes == (0,)  # takes no batches


def test_the_grid_holds_each_configuration_once():
    space = SearchSpace.bounded(VARIANTS, 8, None, (0, 100), 2)
    grid = space.candidates()
    # Per variant and instance count: max_batch_size 1 without batching, 2/4/8 with each of two delays.
    assert len(grid) == len(set(grid)) == 2 * 2 * (1 + 3 * 2)
    assert Candidate("onnx", "fp32", 1, None, 1) in grid
    assert not any(c.max_batch_size == 1 and c.queue_delay_us is not None for c in grid)
    assert space.start() == Candidate("onnx", "fp32", 1, None, 1)


def test_neighbours_step_one_along_each_axis_and_to_every_other_variant():
    space = SearchSpace.bounded(VARIANTS, 8, None, (0, 100), 2)
    middle = Candidate("onnx", "fp32", 4, 100, 1)
    assert set(space.neighbours(middle)) == {
        Candidate("onnx", "fp16", 4, 100, 1),
        Candidate("onnx", "fp32", 2, 100, 1),
        Candidate("onnx", "fp32", 8, 100, 1),
        Candidate("onnx", "fp32", 4, 0, 1),
        Candidate("onnx", "fp32", 4, 100, 2),
    }
    # From the smallest, a step down any axis leaves the grid; the delay axis means nothing without batching, and
    # the step to the first batching size tries each delay.
    assert set(space.neighbours(space.start())) == {
        Candidate("onnx", "fp16", 1, None, 1),
        Candidate("onnx", "fp32", 2, 0, 1),
        Candidate("onnx", "fp32", 2, 100, 1),
        Candidate("onnx", "fp32", 1, None, 2),
    }


def test_ids_read_back_and_name_the_served_config():
    space = SearchSpace.bounded((("onnx", "fp32"), ("ts-trace", "fp16")), 8, None, (0, 100), 2)
    for candidate in space.candidates():
        assert Candidate.from_id(candidate.id) == candidate
    assert Candidate("ts-trace", "fp16", 4, 100, 2).id == "ts-trace-fp16-mb4-db100us-i2"
    assert Candidate.from_id("onnx-fp32-b1-db100us-p4-p8-i2") is None  # a perf suite config, not a candidate
    serving = Candidate("onnx", "fp32", 4, 0, 2).serving
    assert (serving.max_batch_size, serving.batching.enabled, serving.batching.max_queue_delay_us) == (4, True, 0)
    assert serving.instance_count == 2 and serving.suffix == "-mb4-db0us-i2"
    assert not Candidate("onnx", "fp32", 1, None, 1).serving.batching.enabled


@pytest.mark.parametrize(
    "variants, max_batch, delays, instances, says",
    [
        ((), None, (100,), 1, "no format and precision"),
        (VARIANTS, 0, (100,), 1, "max_batch_size bound 0"),
        (VARIANTS, None, (100,), 0, "instance bound 0"),
        (VARIANTS, None, (), 1, "queue delays"),
        (VARIANTS, None, (-5,), 1, "queue delays"),
    ],
)
def test_an_empty_or_senseless_space_is_a_usage_error(variants, max_batch, delays, instances, says):
    with pytest.raises(SearchSpaceError, match=says):
        SearchSpace.bounded(variants, 8, max_batch, delays, instances)


def test_a_run_whose_formats_cannot_run_here_has_nothing_to_search_and_says_why(tmp_path):
    from pytest_triton.models.zoo import zoo_spec
    from pytest_triton.search.plan import SearchPlan
    from pytest_triton.search.run import search_space
    from pytest_triton.session import TritonSession
    from pytest_triton.settings import Settings

    session = TritonSession(Settings(formats=("trt",), precisions=("fp16",)), tmp_path, tmp_path)
    with pytest.raises(SearchSpaceError, match=r"nothing to search for resnext-small: trt-fp16: .*GPU") as info:
        search_space(session, zoo_spec("resnext-small"), SearchPlan("quick", tmp_path))
    assert info.value.options == ("triton_formats", "triton_precisions")
    session = TritonSession(Settings(formats=("trt", "onnx"), precisions=("fp32",)), tmp_path, tmp_path)
    space, left_out = search_space(session, zoo_spec("resnext-small"), SearchPlan("quick", tmp_path))
    assert space.variants == (("onnx", "fp32"),) and left_out[0].startswith("trt-fp32: ")


def test_on_gpus_instances_go_to_all_of_them_each_alone_or_the_cpu():
    from pytest_triton.search.run import instance_devices

    assert instance_devices(()) == (None,)  # a CPU run: the run's device, and no suffix in names
    assert instance_devices((0,)) == ((0,), ())
    devices = instance_devices((0, 1))
    assert devices == ((0, 1), (0,), (1,), ())
    space = SearchSpace.bounded(VARIANTS, 8, 2, (100,), 1, devices)
    assert len(space.candidates()) == 2 * 2 * 4
    for candidate in space.candidates():
        assert Candidate.from_id(candidate.id) == candidate
    on_both = Candidate("onnx", "fp32", 2, 100, 1, (0, 1))
    assert on_both.id == "onnx-fp32-mb2-db100us-i1-gpu0.1"
    assert {c.gpus for c in space.neighbours(on_both)} == {(0, 1), (0,), (1,), ()}
    policy = Candidate("onnx", "fp32", 2, 100, 1, ()).serving
    assert policy.suffix == "-mb2-db100us-i1-cpu" and policy.instances((0, 1)).gpus == ()
    assert Candidate("onnx", "fp32", 2, 100, 1).serving.instances((3,)).gpus == (3,)  # the run's
