"""checks.parity: difference statistics on constructed arrays, tolerances and their parsing."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.checks.parity import DEFAULT_TOLERANCES, OutputDiff, Tolerance, compare, parse_tolerances
from pytest_triton.errors import TritonPluginError


def test_identical_outputs_have_zero_difference():
    ref = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones((2, 1), np.float32)}
    diffs = compare({k: v.copy() for k, v in ref.items()}, ref)
    assert diffs == [OutputDiff("a", 0.0, 0.0, 0.0), OutputDiff("b", 0.0, 0.0, 0.0)]


def test_statistics_on_known_differences():
    reference = {"y": np.array([[1.0, -2.0, 4.0, 10.0]], np.float32)}
    served = {"y": np.array([[1.5, -2.0, 3.0, 10.0]], np.float32)}
    (diff,) = compare(served, reference)
    assert diff.output == "y"
    assert diff.max_abs == pytest.approx(1.0)
    assert diff.mean_abs == pytest.approx((0.5 + 0 + 1.0 + 0) / 4)
    # Relative: 0.5/1 = 0.5 and 1/4 = 0.25: the largest is 0.5, not the one with the largest abs diff.
    assert diff.max_rel == pytest.approx(0.5)


def test_relative_difference_against_zero_reference_uses_a_floor():
    (diff,) = compare({"y": np.array([1e-3], np.float32)}, {"y": np.array([0.0], np.float32)})
    assert diff.max_abs == pytest.approx(1e-3)
    assert diff.max_rel == pytest.approx(1e-3 / 1e-6)


def test_fp16_served_against_fp32_reference():
    reference = {"y": np.array([1.0, 2.0], np.float32)}
    served = {"y": np.array([1.0 + 2**-10, 2.0], np.float16)}  # 1 + 2^-10 is exact in fp16
    (diff,) = compare(served, reference)
    assert diff.max_abs == 2**-10
    assert diff.mean_abs == 2**-11
    assert isinstance(diff.max_abs, float) and isinstance(diff.max_rel, float)


def test_float32_rounding_does_not_hide_small_differences():
    """Differences below float32 resolution of the values are still measured (float64 arithmetic)."""
    big = np.array([1e8], np.float64)
    (diff,) = compare({"y": big + 1.0}, {"y": big})
    assert diff.max_abs == 1.0


def test_compares_only_reference_outputs_in_reference_order():
    reference = {"b": np.zeros(2), "a": np.zeros(2)}
    served = {"a": np.zeros(2), "b": np.zeros(2), "extra": np.full(2, 99.0)}
    assert [d.output for d in compare(served, reference)] == ["b", "a"]


def test_shape_mismatch_fails_naming_both_shapes():
    with pytest.raises(AssertionError) as info:
        compare({"logits": np.zeros((2, 10), np.float32)}, {"logits": np.zeros((2, 1, 10), np.float32)})
    message = str(info.value)
    assert "logits" in message and "(2, 10)" in message and "(2, 1, 10)" in message


def test_broadcastable_shapes_are_still_a_mismatch():
    with pytest.raises(AssertionError, match="shape"):
        compare({"y": np.zeros((1, 4))}, {"y": np.zeros((4,))})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_served_output_fails(bad):
    served = np.zeros((2, 3), np.float32)
    served[1, 2] = bad
    with pytest.raises(AssertionError, match="NaN or inf"):
        compare({"y": served}, {"y": np.zeros((2, 3), np.float32)})


def test_nan_in_reference_is_never_within_tolerance():
    """Not rejected explicitly, but a NaN statistic compares False against any tolerance."""
    (diff,) = compare({"y": np.zeros(2)}, {"y": np.array([0.0, np.nan])})
    assert not diff.within(Tolerance(1e9, 1e9))


def test_missing_served_output_is_named():
    with pytest.raises(AssertionError, match="output y: the server did not return it"):
        compare({"z": np.zeros(2)}, {"y": np.zeros(2)})


def test_within_checks_both_max_and_mean_inclusively():
    diff = OutputDiff("y", max_abs=1e-3, mean_abs=1e-4, max_rel=5.0)
    assert diff.within(Tolerance(1e-3, 1e-4))  # equal is within
    assert not diff.within(Tolerance(9e-4, 1e-4))  # max over
    assert not diff.within(Tolerance(1e-3, 9e-5))  # mean over
    assert diff.within(Tolerance(1.0, 1.0))  # max_rel plays no part


def test_default_tolerances():
    assert DEFAULT_TOLERANCES == {"fp32": Tolerance(1e-3, 1e-4), "fp16": Tolerance(5e-2, 5e-3)}
    assert parse_tolerances([]) == DEFAULT_TOLERANCES


def test_parse_does_not_mutate_defaults():
    parse_tolerances(["fp32:max_abs=1"])
    assert DEFAULT_TOLERANCES["fp32"] == Tolerance(1e-3, 1e-4)


def test_override_one_field_keeps_the_other():
    tolerances = parse_tolerances(["fp16:max_abs=0.1"])
    assert tolerances["fp16"] == Tolerance(0.1, 5e-3)
    assert tolerances["fp32"] == DEFAULT_TOLERANCES["fp32"]


def test_override_both_fields_and_later_items_win():
    tolerances = parse_tolerances(["fp32:max_abs=1e-2,mean_abs=1e-3", "fp32:mean_abs=2e-3"])
    assert tolerances["fp32"] == Tolerance(1e-2, 2e-3)


@pytest.mark.parametrize(
    "item, fragment",
    [
        ("int8:max_abs=1", "PRECISION one of ['fp16', 'fp32']"),
        ("max_abs=1", "PRECISION"),
        ("fp16:", "PRECISION:max_abs=X"),
        ("fp16:max_abs", "'max_abs' is not max_abs=NUMBER"),
        ("fp16:max_rel=1", "'max_rel=1' is not"),
        ("fp16:max_abs=one", "'max_abs=one'"),
        ("fp16:max_abs=1,", "'' is not"),
    ],
)
def test_parse_errors_name_the_item(item, fragment):
    with pytest.raises(TritonPluginError) as info:
        parse_tolerances([item])
    message = str(info.value)
    assert repr(item) in message
    assert fragment in message


def test_negative_tolerance_is_accepted_as_given():
    """Documents current behaviour: no range check, so a negative tolerance makes every check fail."""
    tolerance = parse_tolerances(["fp32:max_abs=-1"])["fp32"]
    assert tolerance.max_abs == -1
    assert not OutputDiff("y", 0.0, 0.0, 0.0).within(tolerance)
