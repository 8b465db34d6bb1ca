"""The config search's options: off by default, its plan from the values, and bad values as usage errors that name
the option and the valid choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_triton.errors import TritonPluginError
from pytest_triton.options import read_options
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.search.plan import SearchPlan
from tests.unit.test_settings import KNOWN, defaults


def plan(**given: object) -> SearchPlan:
    values = {**defaults(), **given}
    return SearchPlan.from_options(read_options(values.__getitem__, KNOWN), MeasurementSettings(), Path("rootdir/s"))


def error_of(**given: object) -> str:
    with pytest.raises(TritonPluginError) as info:
        plan(**given)
    return str(info.value)


def test_off_by_default_with_bounds_that_fit_two_tiny_models_in_ten_minutes():
    searched = plan()
    assert searched.mode == "off"
    assert searched.directory == Path("rootdir/s")
    assert (searched.max_instances, searched.queue_delays_us, searched.max_concurrency) == (2, (100,), 16)
    assert searched.objective.text == "throughput" and searched.budget_s == 260


def test_values_given_make_the_plan():
    searched = plan(
        triton_search="brute",
        triton_search_objective="throughput=2,p99=1",
        triton_search_constraints=["p99<=20ms,server_memory<=2GiB"],
        triton_search_max_batch_size="32",
        triton_search_queue_delays=["500,0", "100"],
        triton_search_dir="elsewhere",
    )
    assert searched.mode == "brute" and searched.objective.text == "throughput=2,p99=1"
    assert [limit.text for limit in searched.constraints] == ["p99<=20ms", "server_memory<=2GiB"]
    assert searched.max_batch_size == 32 and searched.queue_delays_us == (0, 100, 500)
    assert searched.directory == Path("elsewhere")


@pytest.mark.parametrize(
    "given, says",
    [
        ({"triton_search": "fast"}, "--triton-search='fast': choose one of: off, quick, brute"),
        ({"triton_search_objective": "speed"}, "valid choices: throughput, avg, p50, p90, p95, p99, memory"),
        ({"triton_search_max_instances": "0"}, "--triton-search-max-instances='0': expected a positive number"),
        ({"triton_search_max_batch_size": "0"}, "--triton-search-max-batch-size='0': expected a positive number"),
        ({"triton_search_budget": "-1"}, "--triton-search-budget='-1': expected a positive number"),
        ({"triton_search_queue_delays": ["-100"]}, "--triton-search-queue-delays: give one or more delays of 0"),
        ({"triton_search_queue_delays": ["soon"]}, "is not a comma list of microseconds"),
        ({"triton_search_constraints": ["p99<=fast"]}, "--triton-search-constraints"),
    ],
)
def test_a_bad_value_names_the_option_and_what_is_valid(given, says):
    assert says in error_of(**given)
