"""Noise-aware verdicts."""

from __future__ import annotations

import math

import pytest

from pytest_triton.baselines import (
    BaselineEntry,
    BaselineFile,
    BaselineKey,
    Comparison,
    Verdict,
    compare,
    compare_entries,
    confirm,
)


def throughput(value: float, noise: float | None = 0.01, tolerance: float = 0.05) -> BaselineEntry:
    return BaselineEntry(value, "infer/s", "higher", tolerance, noise)


def latency(value: float, noise: float | None = 0.01) -> BaselineEntry:
    return BaselineEntry(value, "us", "lower", 0.05, noise)


def test_a_change_within_tolerance_is_ok():
    result = compare("cfg", "throughput", throughput(97), throughput(100))
    assert result.verdict is Verdict.OK and not result.failed
    assert result.change == pytest.approx(-0.03)


def test_a_drop_beyond_tolerance_and_noise_is_a_regression():
    result = compare("cfg", "throughput", throughput(88), throughput(100))

    assert result.verdict is Verdict.REGRESSION and result.failed
    # 3 sigma of the log ratio: ln(1 + 0.01^2)^0.5 is 0.01 to 5 digits; as a drop, 1 - e^-0.0424.
    assert result.noise_bound == pytest.approx(1 - math.exp(-3 * math.hypot(0.01, 0.01)), rel=1e-3)
    assert "-12.0%" in result.message and "cfg throughput" in result.message


def test_a_drop_beyond_tolerance_that_the_noise_explains_is_not_a_regression():
    # 12% down, but both runs scattered by 5%: 3 sigma of the log ratio covers a drop of 19%.
    result = compare("cfg", "throughput", throughput(88, noise=0.05), throughput(100, noise=0.05))
    assert result.verdict is Verdict.WITHIN_NOISE and not result.failed
    assert "within noise" in result.message


def test_scattered_windows_never_explain_a_hundredfold_drop():
    # A re-measurement during a burst of other load scattered its windows by 35%. On a linear scale 3 sigma
    # would cover -100% and acquit anything; as a log ratio it covers a drop of 64%, a rise of 177%.
    drop = compare("cfg", "throughput", throughput(1, noise=0.35), throughput(100, noise=0.0))
    rise = compare("cfg", "throughput", throughput(250, noise=0.35), throughput(100, noise=0.0))
    assert drop.verdict is Verdict.REGRESSION and drop.noise_bound == pytest.approx(0.64, abs=0.01)
    assert rise.verdict is Verdict.WITHIN_NOISE and rise.noise_bound == pytest.approx(1.77, abs=0.01)


def test_direction_decides_what_is_worse():
    slower = compare("cfg", "latency_p99", latency(11_500), latency(10_000))
    faster = compare("cfg", "latency_p99", latency(8_500), latency(10_000))
    assert slower.verdict is Verdict.REGRESSION
    assert faster.verdict is Verdict.IMPROVEMENT and not faster.failed
    assert "--update-baselines" in faster.message


def test_an_improvement_beyond_tolerance_is_reported_with_the_update_hint():
    result = compare("cfg", "throughput", throughput(130), throughput(100))
    assert result.verdict is Verdict.IMPROVEMENT and not result.failed
    assert "--update-baselines" in result.message


def test_the_baselines_tolerance_rules_not_the_new_measurements():
    result = compare("cfg", "throughput", throughput(88, tolerance=0.5), throughput(100, tolerance=0.05))
    assert result.verdict is Verdict.REGRESSION


def test_unknown_noise_counts_as_none():
    result = compare("cfg", "throughput", throughput(93, noise=None), throughput(100, noise=None))
    assert result.verdict is Verdict.REGRESSION and result.noise_bound == 0


def test_missing_baseline_is_reported_and_fails_only_in_strict_mode():
    relaxed = compare("cfg", "throughput", throughput(100), None)
    strict = compare("cfg", "throughput", throughput(100), None, strict=True)
    assert relaxed.verdict is Verdict.MISSING and not relaxed.failed
    assert strict.verdict is Verdict.MISSING and strict.failed
    assert "strict" in strict.message


def test_compare_entries_looks_up_each_metric_of_the_config():
    baseline = BaselineFile(BaselineKey("cpu-x-2c", "perf"), {}, {"cfg": {"throughput": throughput(100)}})
    results = compare_entries("cfg", {"throughput": throughput(80), "latency_p99": latency(1)}, baseline)
    verdicts = [(r.metric, r.verdict) for r in results]
    assert verdicts == [("throughput", Verdict.REGRESSION), ("latency_p99", Verdict.MISSING)]
    assert all(r.verdict is Verdict.MISSING for r in compare_entries("cfg", {"throughput": throughput(1)}, None))


def test_zero_baselines_do_not_divide_by_zero():
    assert compare("cfg", "errors", latency(0), latency(0)).verdict is Verdict.OK
    assert compare("cfg", "errors", latency(3), latency(0)).verdict is Verdict.REGRESSION


def test_comparisons_round_trip_through_their_dict_form():
    regressed = compare("cfg", "throughput", throughput(88), throughput(100))
    for result in (regressed, compare("c", "m", throughput(1), None)):
        assert Comparison.from_dict(result.to_dict()) == result


def test_confirm_keeps_a_regression_the_second_measurement_reproduces():
    first = [compare("cfg", "throughput", throughput(85), throughput(100))]
    again = [compare("cfg", "throughput", throughput(86), throughput(100))]
    [result] = confirm(first, again)
    assert result.verdict is Verdict.REGRESSION and result.failed
    assert "confirmed by a second measurement (-14.0%)" in result.message


def test_confirm_drops_a_regression_the_second_measurement_does_not_reproduce():
    first = [
        compare("cfg", "throughput", throughput(85), throughput(100)),
        compare("cfg", "latency_p50", latency(10_000), None),
    ]
    again = [compare("cfg", "throughput", throughput(99), throughput(100))]
    result = confirm(first, again)
    assert result[0].verdict is Verdict.WITHIN_NOISE and not result[0].failed
    assert "not reproduced by a second measurement (-1.0%)" in result[0].message
    assert result[1] == first[1]  # only regressions are re-judged
    assert confirm(first[:1], [])[0].verdict is Verdict.WITHIN_NOISE


def accuracy(value: float, weights: str | None) -> BaselineEntry:
    return BaselineEntry(value, "%", "higher", 0.005, 0.0, weights)


def test_a_baseline_of_other_weights_is_not_applied_and_says_so():
    measured, baseline = accuracy(90.6, "9d268b2f00000000"), accuracy(92.3, "148370b300000000")
    result = compare("bert-tiny-onnx-fp32/v1.1", "exact_match", measured, baseline)
    assert result.verdict is Verdict.NOT_APPLIED and not result.failed and result.change is None
    assert "other weights (148370b300000000, this model has 9d268b2f00000000): not applied" in result.message
    strict = compare("bert-tiny-onnx-fp32/v1.1", "exact_match", measured, baseline, strict=True)
    assert strict.verdict is Verdict.NOT_APPLIED and strict.failed and "strict mode" in strict.message


def test_a_baseline_of_the_same_weights_or_without_a_weights_record_is_judged():
    same = compare("c", "exact_match", accuracy(90.6, "148370b300000000"), accuracy(92.3, "148370b300000000"))
    unrecorded = compare("c", "exact_match", accuracy(90.6, "148370b300000000"), accuracy(92.3, None))
    assert same.verdict is Verdict.REGRESSION and unrecorded.verdict is Verdict.REGRESSION
