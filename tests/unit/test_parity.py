"""checks.parity: difference statistics on constructed arrays, a parity run's report, tolerances and their
parsing."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_triton.checks.parity import ParityResult, compare
from pytest_triton.checks.tolerance import DEFAULT_TOLERANCES, Tolerances, parse_tolerances
from pytest_triton.errors import BadValue, CheckFailed
from pytest_triton.models.spec import Tolerance

LOOSE = Tolerance(1.0, 0.0, 1.0)


def _compare(served, reference, tolerance=LOOSE, compared=None):
    return compare(served, reference, {name: tolerance for name in reference}, compared)


def test_identical_outputs_have_zero_difference():
    ref = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones((2, 1), np.float32)}
    diffs = _compare({k: v.copy() for k, v in ref.items()}, ref)
    assert [(d.output, d.max_abs, d.mean_abs, d.max_rel, d.bound_used, d.masked) for d in diffs] == [
        ("a", 0.0, 0.0, 0.0, 0.0, 0),
        ("b", 0.0, 0.0, 0.0, 0.0, 0),
    ]
    assert all(d.within for d in diffs)


def test_statistics_on_known_differences():
    reference = {"y": np.array([[1.0, -2.0, 4.0, 10.0]], np.float32)}
    served = {"y": np.array([[1.5, -2.0, 3.0, 10.0]], np.float32)}
    (diff,) = _compare(served, reference, Tolerance(0.5, 0.25, 1.0))
    assert diff.output == "y"
    assert diff.max_abs == pytest.approx(1.0)
    assert diff.mean_abs == pytest.approx((0.5 + 0 + 1.0 + 0) / 4)
    # Relative: 0.5/1 = 0.5 and 1/4 = 0.25: the largest is 0.5, not the one with the largest abs diff.
    assert diff.max_rel == pytest.approx(0.5)
    # Bounds 0.5 + 0.25*|ref|: 0.75 at 1.0 (diff 0.5) and 1.5 at 4.0 (diff 1.0): the first is the tighter.
    assert diff.bound_used == pytest.approx(0.5 / 0.75)
    assert diff.max_ref == 10.0
    assert diff.within


def test_the_bound_grows_with_the_reference():
    """The same absolute error passes on a large logit and fails on a small one."""
    tolerance = Tolerance(atol=0.01, rtol=0.01, mean_abs=1.0)
    (large,) = _compare({"y": np.array([10.05])}, {"y": np.array([10.0])}, tolerance)
    (small,) = _compare({"y": np.array([0.05])}, {"y": np.array([0.0])}, tolerance)
    assert large.within and large.bound_used == pytest.approx(0.05 / 0.11)
    assert not small.within and small.bound_used == pytest.approx(5.0)


def test_relative_difference_against_zero_reference_uses_a_floor():
    (diff,) = _compare({"y": np.array([1e-3], np.float32)}, {"y": np.array([0.0], np.float32)})
    assert diff.max_abs == pytest.approx(1e-3)
    assert diff.max_rel == pytest.approx(1e-3 / 1e-6)


def test_fp16_served_against_fp32_reference():
    reference = {"y": np.array([1.0, 2.0], np.float32)}
    served = {"y": np.array([1.0 + 2**-10, 2.0], np.float16)}  # 1 + 2^-10 is exact in fp16
    (diff,) = _compare(served, reference)
    assert diff.max_abs == 2**-10
    assert diff.mean_abs == 2**-11
    assert isinstance(diff.max_abs, float) and isinstance(diff.max_rel, float)


def test_float32_rounding_does_not_hide_small_differences():
    """Differences below float32 resolution of the values are still measured (float64 arithmetic)."""
    big = np.array([1e8], np.float64)
    (diff,) = _compare({"y": big + 1.0}, {"y": big})
    assert diff.max_abs == 1.0


def test_masked_elements_are_reported_apart_and_only_need_to_be_finite():
    reference = np.zeros((2, 4))
    served = reference.copy()
    served[0, 1] = 0.001  # a real position
    served[1, 2:] = 3.0  # padding: far off, but the model never reads it
    mask = np.ones((2, 4), bool)
    mask[1, 2:] = False
    (diff,) = _compare({"y": served}, {"y": reference}, Tolerance(0.01, 0.0, 1.0), {"y": mask})
    assert diff.within and diff.max_abs == pytest.approx(0.001)
    assert diff.mean_abs == pytest.approx(0.001 / 6)  # over the 6 compared elements
    assert diff.masked == 2 and diff.masked_max_abs == 3.0
    assert "2 masked (max_abs 3)" in diff.row("b2")
    served[1, 3] = np.nan
    with pytest.raises(CheckFailed, match="NaN or inf"):
        _compare({"y": served}, {"y": reference}, compared={"y": mask})


def test_a_mask_that_hides_everything_or_has_the_wrong_shape_fails():
    with pytest.raises(CheckFailed, match="masks out every element"):
        _compare({"y": np.zeros(3)}, {"y": np.zeros(3)}, compared={"y": np.zeros(3, bool)})
    with pytest.raises(CheckFailed, match=r"mask shape \(2,\) != output shape \(3,\)"):
        _compare({"y": np.zeros(3)}, {"y": np.zeros(3)}, compared={"y": np.ones(2, bool)})


def test_compares_only_reference_outputs_in_reference_order():
    reference = {"b": np.zeros(2), "a": np.zeros(2)}
    served = {"a": np.zeros(2), "b": np.zeros(2), "extra": np.full(2, 99.0)}
    assert [d.output for d in _compare(served, reference)] == ["b", "a"]


def test_each_output_is_judged_by_its_own_tolerance():
    reference = {"a": np.zeros(2), "b": np.zeros(2)}
    served = {"a": np.full(2, 0.05), "b": np.full(2, 0.05)}
    tight, loose = Tolerance(0.01, 0.0, 1.0), Tolerance(0.1, 0.0, 1.0)
    a, b = compare(served, reference, {"a": tight, "b": loose})
    assert (a.tolerance, a.within, b.tolerance, b.within) == (tight, False, loose, True)


def test_shape_mismatch_fails_naming_both_shapes():
    with pytest.raises(CheckFailed) as info:
        _compare({"logits": np.zeros((2, 10), np.float32)}, {"logits": np.zeros((2, 1, 10), np.float32)})
    message = str(info.value)
    assert "logits" in message and "(2, 10)" in message and "(2, 1, 10)" in message


def test_broadcastable_shapes_are_still_a_mismatch():
    with pytest.raises(CheckFailed, match="shape"):
        _compare({"y": np.zeros((1, 4))}, {"y": np.zeros((4,))})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_served_output_fails(bad):
    served = np.zeros((2, 3), np.float32)
    served[1, 2] = bad
    with pytest.raises(CheckFailed, match="NaN or inf"):
        _compare({"y": served}, {"y": np.zeros((2, 3), np.float32)})


def test_nan_in_reference_is_never_within_tolerance():
    """Not rejected explicitly, but a NaN statistic compares False against any tolerance."""
    (diff,) = _compare({"y": np.zeros(2)}, {"y": np.array([0.0, np.nan])}, Tolerance(1e9, 1e9, 1e9))
    assert not diff.within


def test_missing_served_output_is_named():
    with pytest.raises(CheckFailed, match="output y: the server did not return it"):
        _compare({"z": np.zeros(2)}, {"y": np.zeros(2)})


def test_within_checks_the_bound_and_the_mean_inclusively():
    reference = {"y": np.array([0.0, 0.0])}
    served = {"y": np.array([1e-3, 0.0])}  # max 1e-3, mean 5e-4
    assert _compare(served, reference, Tolerance(1e-3, 0.0, 5e-4))[0].within  # equal is within
    assert not _compare(served, reference, Tolerance(9e-4, 0.0, 5e-4))[0].within  # bound over
    assert not _compare(served, reference, Tolerance(1e-3, 0.0, 4e-4))[0].within  # mean over


def test_a_parity_result_reports_each_output_beyond_its_tolerance():
    tight = Tolerance(0.01, 0.0, 1.0)
    (near,) = _compare({"y": np.array([0.005])}, {"y": np.array([0.0])}, tight)
    (far,) = _compare({"y": np.array([0.5])}, {"y": np.array([0.0])}, tight)
    result = ParityResult("m-onnx-fp16", "fp16", (("b1", near), ("b8", far)))
    assert not result.ok
    heading = "m-onnx-fp16 differs from the eager fp32 reference beyond fp16 tolerance:"
    assert result.report() == heading + "\n" + far.row("b8")
    assert ParityResult("m-onnx-fp16", "fp16", (("b1", near),)).ok


def test_a_parity_result_with_nothing_compared_fails():
    result = ParityResult("m-onnx-fp32", "fp32", ())
    assert not result.ok and result.report() == "no sample case was compared"


def test_default_tolerances():
    assert DEFAULT_TOLERANCES == {
        "fp32": Tolerance(1e-3, 1e-3, 1e-4),
        "fp16": Tolerance(5e-2, 5e-2, 1e-2),
        "bf16": Tolerance(0.15, 0.15, 5e-2),
    }
    assert parse_tolerances([]) == Tolerances()
    assert parse_tolerances([]).by_precision == DEFAULT_TOLERANCES


def test_parse_does_not_mutate_defaults():
    parse_tolerances(["fp32:atol=1"])
    assert DEFAULT_TOLERANCES["fp32"] == Tolerance(1e-3, 1e-3, 1e-4)


def test_override_one_field_keeps_the_others():
    tolerances = parse_tolerances(["fp16:atol=0.1"])
    assert tolerances.by_precision["fp16"] == Tolerance(0.1, 5e-2, 1e-2)
    assert tolerances.by_precision["fp32"] == DEFAULT_TOLERANCES["fp32"]


def test_override_every_field_and_later_items_win():
    tolerances = parse_tolerances(["fp32:atol=1e-2,rtol=0,mean_abs=1e-3", "fp32:mean_abs=2e-3"])
    assert tolerances.by_precision["fp32"] == Tolerance(1e-2, 0.0, 2e-3)


def test_a_chosen_statistic_gates_on_the_share_of_elements_within_their_bound():
    """One element in a hundred far off: elementwise (max) fails it, the p99 and the median pass it, the mean
    does not (it is 100 bounds off, a hundredth of the elements)."""
    reference = {"y": np.zeros(100)}
    served = {"y": np.r_[np.zeros(99), 0.1]}
    loose = Tolerance(1e-3, 0.0, 1.0)
    verdicts = {}
    for statistic in ("max", "p99", "median", "mean"):
        (diff,) = compare(served, reference, {"y": Tolerance(1e-3, 0.0, 1.0, statistic)})
        verdicts[statistic] = (diff.within, round(diff.used, 3))
    assert verdicts == {"max": (False, 100.0), "p99": (True, 0.0), "median": (True, 0.0), "mean": (True, 1.0)}
    (diff,) = compare(served, reference, {"y": loose})
    assert diff.judged is None and diff.used == diff.bound_used == 100.0  # max: every element, as before
    (p99,) = compare(served, reference, {"y": Tolerance(1e-3, 0.0, 1.0, "p99")})
    assert "p99 of |d| / bound 0% of atol 0.001" in p99.row("case")
    (p98,) = compare({"y": np.r_[np.zeros(98), 0.1, 0.1]}, reference, {"y": Tolerance(1e-3, 0.0, 1.0, "p99")})
    assert not p98.within  # two in a hundred off: p99 is the 99th element, 100 bounds off
    assert parse_tolerances(["fp16/logits:statistic=p99.9"]).for_output("fp16", "logits").statistic == "p99.9"


def test_per_output_override_beats_the_spec_which_beats_the_precision():
    tolerances = parse_tolerances(["fp16/start_logits:atol=0.1", "fp16:rtol=0.5"])
    spec_tolerances = {"fp16": {"start_logits": Tolerance(9, 9, 9), "end_logits": Tolerance(7, 7, 7)}}
    assert tolerances.for_output("fp16", "start_logits", spec_tolerances) == Tolerance(0.1, 5e-2, 1e-2)
    assert tolerances.for_output("fp16", "end_logits", spec_tolerances) == Tolerance(7, 7, 7)
    assert tolerances.for_output("fp16", "other", spec_tolerances) == Tolerance(5e-2, 0.5, 1e-2)
    assert tolerances.for_output("fp32", "start_logits", spec_tolerances) == DEFAULT_TOLERANCES["fp32"]


@pytest.mark.parametrize(
    "item, fragment",
    [
        ("int8:atol=1", "PRECISION one of ['bf16', 'fp16', 'fp32']"),
        ("atol=1", "PRECISION"),
        ("fp16:", "PRECISION[/OUTPUT]:atol=X"),
        ("fp16/:atol=1", "PRECISION[/OUTPUT]"),
        ("fp16:atol", "'atol' is not atol=NUMBER"),
        ("fp16:max_rel=1", "'max_rel=1' is not"),
        ("fp16:max_abs=1", "'max_abs=1' is not atol=NUMBER, rtol=NUMBER or mean_abs=NUMBER"),
        ("fp16:atol=one", "'atol=one'"),
        ("fp16:atol=1,", "'' is not"),
        ("fp32:atol=-1", "'atol=-1' is not atol=NUMBER, rtol=NUMBER or mean_abs=NUMBER with NUMBER >= 0"),
        ("fp32:rtol=nan", "'rtol=nan'"),
        ("fp16:statistic=p101", "statistic 'p101': use max, mean, median or a quantile such as p99 or p99.9"),
        ("fp16:statistic=worst", "statistic 'worst'"),
    ],
)
def test_parse_errors_name_the_item(item, fragment):
    with pytest.raises(BadValue) as info:
        parse_tolerances([item])
    message = str(info.value)
    assert info.value.where == f"={item!r}"  # the plugin puts it after the flag
    assert fragment in message


def test_zero_tolerance_accepts_only_exact_outputs():
    exact = Tolerance(0.0, 0.0, 0.0)
    assert _compare({"y": np.ones(2)}, {"y": np.ones(2)}, exact)[0].within
    (off,) = _compare({"y": np.array([1.0, 1.0 + 1e-12])}, {"y": np.ones(2)}, exact)
    assert not off.within and off.bound_used == np.inf
