"""--triton-slo limits: parsed with units and scopes, checked against a measurement, bad text named."""

from __future__ import annotations

import pytest

from pytest_triton.perf.limits import check_limits, parse_limits
from tests.perf.test_perf_results import measurement, window


def test_limits_in_their_units_with_a_scope_that_holds_for_the_rest_of_the_value():
    limits = parse_limits("bert-tiny:p99<=20ms, throughput>=500/s,server_memory<4GiB")
    assert [(limit.metric, limit.op, limit.value, limit.scope) for limit in limits] == [
        ("latency_p99", "<=", 20_000.0, "bert-tiny"),
        ("throughput", ">=", 500.0, "bert-tiny"),
        ("server_rss", "<", 4 * 2**30, "bert-tiny"),
    ]
    assert parse_limits("avg<=1.5s")[0].value == 1_500_000.0
    assert [(limit.metric, limit.value) for limit in parse_limits("gpu_memory<=4GiB,gpu_power<=0.3kW")] == [
        ("gpu_memory", 4 * 2**30),
        ("gpu_power", 300.0),
    ]
    assert parse_limits("throughput>=20")[0].scope is None


def test_a_scope_is_a_configuration_id_or_its_dash_separated_prefix():
    (limit,) = parse_limits("bert-tiny:p99<=20ms")
    assert limit.applies_to("bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1")
    assert limit.applies_to("bert-tiny")
    assert not limit.applies_to("bert-tinyish-onnx")
    assert not limit.applies_to("resnext-small-onnx-fp32-b1")


def test_a_measurement_that_breaks_a_limit_is_named_with_its_figure_and_unknown_figures_are_unchecked():
    m = measurement((window(100, 10_000),))  # throughput 100/s, p99 15 ms, no server figures
    broken, unchecked = check_limits(
        parse_limits("p99<=10ms,throughput>=50/s,server_memory<=1GiB,other-model:p99<=1ms"), "bert-tiny-onnx", m
    )
    assert broken == ["bert-tiny-onnx/c2: p99<=10ms broken: measured 15 ms"]
    assert unchecked == ["bert-tiny-onnx/c2: server_memory<=1GiB not checked: this server's figure is unknown"]
    assert check_limits(parse_limits("p99<=20ms,throughput>=50/s"), "any", m) == ([], [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p98<=20ms", "unknown limit 'p98'; known: throughput, avg, p50"),
        ("p99<=20kg", "p99 takes the units us, µs, ms, s, not 'kg'"),
        ("throughput>=5ms", "throughput takes the units /s, infer/s, not 'ms'"),
        ("p99=20ms", "'p99=20ms' is not [CONFIG:]NAME<=VALUE"),
        ("p99<=20ms,,", "empty limit"),
        ("p99<=1.2.3ms", "'1.2.3' in 'p99<=1.2.3ms' is not a number"),
    ],
)
def test_bad_limits_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_limits(text)
