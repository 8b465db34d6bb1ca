"""Triton's metrics endpoint: Prometheus text parsed by prometheus_client, GPU figures over a measurement."""

from __future__ import annotations

import pytest

from pytest_triton.perf.gpu_figures import GpuFigures
from pytest_triton.server.metrics import MetricsError, parse_metrics, read_metrics


def _gpu_text(memory: tuple[float, float], utilization: tuple[float, float], power: tuple[float, float]) -> str:
    """What a server with two GPUs exports (the series names and labels Triton uses), with these values."""
    lines = []
    for name, kind, values in (
        ("nv_gpu_memory_used_bytes", "gauge", memory),
        ("nv_gpu_utilization", "gauge", utilization),
        ("nv_gpu_power_usage", "gauge", power),
    ):
        lines += [f"# HELP {name} a GPU figure", f"# TYPE {name} {kind}"]
        lines += [f'{name}{{gpu_uuid="GPU-{i}"}} {v}' for i, v in enumerate(values)]
    lines += [
        "# HELP nv_inference_count Number of inferences performed",
        "# TYPE nv_inference_count counter",
        'nv_inference_count{model="bert",version="1"} 1200',
    ]
    return "\n".join(lines) + "\n"


def test_gpu_memory_peaks_utilization_and_power_average_over_the_scrapes():
    scrapes = [
        parse_metrics(_gpu_text((1e9, 2e9), (0.5, 0.7), (100, 150))),
        None,  # a scrape that failed
        parse_metrics(_gpu_text((1.5e9, 2e9), (0.9, 0.9), (200, 250))),
    ]
    figures = GpuFigures.of(scrapes)
    assert figures.memory_bytes == 3.5e9
    assert figures.utilization == pytest.approx(0.75)
    assert figures.power_w == pytest.approx(350.0)
    assert scrapes[0] is not None and scrapes[0].total("nv_inference_count") == 1200


def test_a_cpu_server_has_no_gpu_figures():
    cpu_only = parse_metrics('# TYPE nv_inference_count counter\nnv_inference_count{model="m",version="1"} 3\n')
    assert GpuFigures.of([cpu_only]) == GpuFigures(None, None, None)
    assert cpu_only.total("nv_gpu_memory_used_bytes") is None


def test_text_that_is_not_prometheus_and_an_unreachable_endpoint_are_named():
    with pytest.raises(MetricsError, match="not in the Prometheus format"):
        parse_metrics("nv_gpu_utilization{gpu_uuid=} not-a-number\n")
    with pytest.raises(MetricsError, match=r"cannot read Triton's metrics at http://127.0.0.1:9/metrics"):
        read_metrics("127.0.0.1:9", timeout_s=2)
