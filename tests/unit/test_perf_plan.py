"""The --triton-perf-* options: defaults, selection of perf points, and clear errors."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_triton.errors import TritonPluginError
from pytest_triton.models.variant import Variant
from pytest_triton.models.zoo import ZOO, zoo_spec
from pytest_triton.options import read_options
from pytest_triton.perf.load import Concurrency, RequestRate
from pytest_triton.perf.plan import PerfPlan
from pytest_triton.repository.policy import ServingPolicy


def plan(**values: str) -> PerfPlan:
    return PerfPlan.from_options(read_options(lambda dest: values.get(dest), tuple(ZOO)))


@pytest.fixture(scope="module")
def variants() -> list[Variant]:
    bert, resnext = zoo_spec("bert-tiny"), zoo_spec("resnext-small")
    return [Variant(s, f, p) for s in (bert, resnext) for f in ("onnx", "ts-trace") for p in ("fp32", "fp16")]


def test_defaults_measure_one_configuration_per_model_on_onnx_fp32(variants):
    default = plan()
    assert default.loads == (Concurrency(1),)
    assert [p.id for p in default.points(variants)] == [
        "bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1",
        "resnext-small-onnx-fp32-b1-db100us-p4-p8-i1",
    ]
    assert default.limits == ()


def test_the_seeds_grid_under_options(variants):
    full = plan(
        triton_perf_batch_sizes="1,8",
        triton_perf_concurrency="1,4",
        triton_perf_batching="off,on",
        triton_perf_instances="1,2",
    )
    assert full.loads == (Concurrency(1), Concurrency(4))
    points = full.points(variants)
    assert {p.variant.format for p in points} == {"onnx"} and {p.variant.precision for p in points} == {"fp32"}
    # 2 models x batching off/on x instances 1/2 x batch 1/8
    assert len({p.id for p in points}) == len(points) == 16
    assert "bert-tiny-onnx-fp32-b8-db100us-p4-p8-i2" in {p.id for p in points}
    assert "resnext-small-onnx-fp32-b1-nodb-i1" in {p.id for p in points}


def test_count_based_windows_and_a_percentile_for_stability():
    settings = plan(triton_perf_percentile="95", triton_perf_min_requests="200").settings
    assert (settings.percentile, settings.min_requests) == (95, 200)
    assert (plan().settings.percentile, plan().settings.min_requests) == (None, 0)
    assert (plan().settings.max_steal_share, plan(triton_perf_max_steal="25").settings.max_steal_share) == (0.1, 0.25)


def test_slices_against_the_reference_only_when_asked():
    assert (plan().reference_slices, plan(triton_perf_reference="12").reference_slices) == (0, 12)


def test_limits_from_the_slo_option():
    limits = plan(triton_slo=["bert-tiny:p99<=20ms", "throughput>=10/s"]).limits
    assert [(limit.scope, limit.metric) for limit in limits] == [("bert-tiny", "latency_p99"), (None, "throughput")]


def test_input_data_files_per_model_and_for_every_model(tmp_path, variants):
    mine, everyone = tmp_path / "bert.json", tmp_path / "all.json"
    mine.write_text("{}")
    everyone.write_text("{}")
    chosen = plan(triton_perf_input_data=[f"bert-tiny={mine}", str(everyone)])
    assert (chosen.input_data_for("bert-tiny"), chosen.input_data_for("resnext-small")) == (mine, everyone)
    assert plan().input_data_for("bert-tiny") is None
    with pytest.raises(
        TritonPluginError,
        match=r"given for bert-tny, which this run does not measure \(it measures bert-tiny, resnext-small\)",
    ):
        plan(triton_perf_input_data=[f"bert-tny={mine}"]).points(variants)
    with pytest.raises(TritonPluginError, match="two files for bert-tiny: give one"):
        plan(triton_perf_input_data=[f"bert-tiny={mine}", f"bert-tiny={everyone}"])


def test_model_warmup_off_and_on_side_by_side(variants):
    points = plan(triton_perf_warmup="off,on").points(variants[:1])
    assert [p.id for p in points] == [
        "bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1",
        "bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1-warm",
    ]
    assert [p.serving.warmup for p in points] == [False, True] and plan().warmup == (False,)


def test_cuda_graphs_off_and_on_side_by_side_for_tensorrt_plans_only(variants):
    trt = [dataclasses.replace(variants[0], format="trt")]
    points = plan(triton_perf_formats="onnx,trt", triton_perf_cuda_graphs="off,on").points([variants[0], *trt])
    assert [p.id for p in points] == [
        "bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1",
        "bert-tiny-trt-fp32-b1-db100us-p4-p8-i1",
        "bert-tiny-trt-fp32-b1-db100us-p4-p8-i1-graphs",
    ]
    assert [p.serving.cuda_graphs for p in points] == [False, False, True] and plan().cuda_graphs == (False,)


def test_ranges_and_request_rates():
    chosen = plan(triton_perf_concurrency="1:8:4,16", triton_perf_request_rate="50", triton_perf_arrivals="poisson")
    assert chosen.loads[:3] == (Concurrency(1), Concurrency(5), Concurrency(16))
    assert isinstance(chosen.loads[3], RequestRate) and chosen.loads[3].arrivals == "poisson"


def test_batch_sizes_above_max_batch_are_not_measured(variants):
    assert all(
        p.batch_size <= p.variant.spec.max_batch_size for p in plan(triton_perf_batch_sizes="1,64").points(variants)
    )


def test_the_batcher_prefers_no_batch_larger_than_the_model_takes(variants):
    """Triton refuses to load a config whose preferred batch size exceeds max_batch_size ("dynamic batching preferred
    size must be <= max batch size"): a model of max_batch_size 4 gets a batcher that prefers 4 only, one of 2 none."""
    small = Variant(dataclasses.replace(variants[0].spec, max_batch_size=4), "onnx", "fp32")
    tiny = Variant(dataclasses.replace(variants[0].spec, max_batch_size=2), "onnx", "fp32")
    (four,), (two,) = plan().points([small]), plan().points([tiny])
    assert four.serving.batching.preferred_batch_sizes == (4,) and four.id.endswith("-b1-db100us-p4-i1")
    # Nothing to prefer: the default batcher of every deployment, whose name has no suffix.
    assert two.serving == ServingPolicy() and two.id == "bert-tiny-onnx-fp32-b1"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"triton_perf_batch_sizes": "1,x"}, "--triton-perf-batch-sizes"),
        ({"triton_perf_instances": "0"}, "at least 1"),
        ({"triton_perf_batching": "maybe"}, "--triton-perf-batching"),
        ({"triton_perf_warmup": "yes"}, "--triton-perf-warmup"),
        ({"triton_perf_formats": "savedmodel"}, "valid choices: ts-script"),
        ({"triton_perf_engine": "locust"}, "--triton-perf-engine"),
        ({"triton_perf_arrivals": "bursty"}, "poisson"),
        ({"triton_perf_concurrency": "4:1"}, "--triton-perf-concurrency"),
        ({"triton_perf_window": "-1"}, "--triton-perf-window"),
        ({"triton_slo": "p98<=1ms"}, "--triton-slo.*unknown limit 'p98'"),
        ({"triton_perf_percentile": "98"}, "--triton-perf-percentile.*50, 90, 95, 99"),
        ({"triton_perf_min_requests": "0"}, "--triton-perf-min-requests"),
        ({"triton_perf_reference": "0"}, "--triton-perf-reference"),
        ({"triton_perf_reference": "1"}, "--triton-perf-reference.*at least 2"),
        ({"triton_perf_input_data": "no-such-file.json"}, "--triton-perf-input-data='no-such-file.json': expected"),
    ],
)
def test_bad_values_name_the_option(values, words):
    with pytest.raises(TritonPluginError, match=words):
        plan(**values)


def test_a_model_without_batching_is_measured_a_request_at_a_time_without_a_batcher():
    unbatched = dataclasses.replace(zoo_spec("resnext-small"), max_batch_size=0)
    points = plan(triton_perf_instances="1,2").points([Variant(unbatched, "onnx", "fp32")])
    assert [p.id for p in points] == ["resnext-small-onnx-fp32-b1-nodb-i1", "resnext-small-onnx-fp32-b1-nodb-i2"]


def test_blank_values_mean_the_defaults():
    blank = plan(triton_perf_formats="", triton_perf_precisions=" ", triton_perf_batching="")
    default = plan()
    assert (blank.formats, blank.precisions, blank.batching) == (default.formats, default.precisions, default.batching)
    assert default.formats == ("onnx",) and default.precisions == ("fp32",)


def test_measurements_use_the_runs_protocol():
    """A remote server may be known by its HTTP address alone."""
    assert plan(triton_url="h:8000", triton_protocol="http").settings.protocol == "http"
    assert plan().settings.protocol == "grpc"
