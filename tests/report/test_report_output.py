"""The terminal table and the report directory, from synthetic measurements with known numbers."""

from __future__ import annotations

import json

import pytest

from pytest_triton.baselines import BaselineEntry, compare, confirm
from pytest_triton.baselines.verdict import Verdict
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.results import LatencyBreakdown, LatencyStats, Measurement, WindowResult
from pytest_triton.report.format import verdict_text
from pytest_triton.report.plots import _baseline_points
from pytest_triton.report.summary import summary_lines
from pytest_triton.report.writer import write_report


def sweep(model: str, compute_ms: float) -> list[Measurement]:
    """A server that does one request per `compute_ms`: throughput flat, queueing grows with concurrency."""
    points = []
    for c in (1, 2, 4, 8):
        latency_us = compute_ms * 1000 * c + 800
        stats = LatencyStats(latency_us, latency_us * 0.98, latency_us * 1.1, latency_us * 1.15, latency_us * 1.3)
        window = WindowResult(1.0, 100, 0, 0, 1000 / compute_ms, stats, 0.2)
        points.append(
            Measurement(
                model=model, protocol="grpc", engine="asyncio", load=Concurrency(c), batch_size=1,
                throughput=1000 / compute_ms * (1 - 0.01 * c), latency=stats,
                breakdown=LatencyBreakdown(
                    client_send_us=40, network_server_us=600, server_queue_us=compute_ms * 1000 * (c - 1),
                    compute_input_us=60, compute_infer_us=compute_ms * 1000, compute_output_us=50, client_recv_us=50,
                ),
                batch_histogram={1: 100 * c}, stable=c != 8, windows=(window,) * 3, tail_windows=3,
                requests=300, errors=0, client_cpu_cores=0.1 * c, client_saturated=c == 8,
            )
        )  # fmt: skip
    return points


MEASUREMENTS = {"sleep-10ms": sweep("sleep10", 10), "sleep-20ms": sweep("sleep20", 20)}


def throughput(value: float) -> BaselineEntry:
    return BaselineEntry(value, "infer/s", "higher", 0.05, 0.01)


def p99(value: float) -> BaselineEntry:
    return BaselineEntry(value, "us", "lower", 0.15, 0.02)


COMPARISONS = [
    compare("sleep-10ms/c1", "throughput", throughput(87.0), throughput(100.0)),
    compare("sleep-10ms/c1", "latency_p99", p99(10_250), p99(10_000)),
    compare("sleep-20ms/c1", "throughput", throughput(49.0), None),
]


def test_summary_lines_table_carries_baseline_measured_change_and_verdict():
    lines = summary_lines(COMPARISONS)

    assert lines[0] == "performance baselines: 1 ok, 1 regression, 1 missing"
    assert lines[1].split() == ["config", "metric", "baseline", "measured", "change", "verdict"]
    # The failing row comes first.
    row = ["sleep-10ms/c1", "throughput", "100", "infer/s", "87", "infer/s", "-13.0%", "REGRESSION"]
    assert lines[3].split() == row
    assert "10 ms" in lines[4] and "10.25 ms" in lines[4] and "+2.5%" in lines[4] and lines[4].endswith("ok")
    assert lines[5].split()[-1] == "missing" and " - " in lines[5]
    assert lines[2].startswith("-" * len("sleep-10ms/c1") + "  -")  # the first column fits the longest config
    assert lines[6] == (
        "performance baselines: 1 figure has no baseline yet; record them with --update-baselines, review the diff "
        "and commit it"
    )


def test_within_noise_says_whether_the_scatter_covered_it_or_a_repeat_did_not_confirm_it():
    scattered = BaselineEntry(88.0, "infer/s", "higher", 0.05, 0.05)
    covered = compare("cfg", "throughput", scattered, BaselineEntry(100.0, "infer/s", "higher", 0.05, 0.05))
    first = compare("cfg", "throughput", throughput(70.0), throughput(100.0))
    (not_repeated,) = confirm([first], [compare("cfg", "throughput", throughput(99.0), throughput(100.0))])
    assert verdict_text(covered) == "within noise (up to 19%)"
    assert verdict_text(not_repeated) == "within noise (not repeated)"


def test_summary_of_nothing_says_so():
    assert summary_lines([]) == ["performance baselines: nothing measured"]


def test_summary_of_an_update_says_what_was_recorded_where():
    lines = summary_lines([], recorded=16, files=["baselines/cpu-x-2c/perf.json"])
    assert lines == [
        "performance baselines: 16 entries recorded into baselines/cpu-x-2c/perf.json; review the diff and commit it"
    ]


def test_write_report_writes_json_markdown_and_plots_with_the_numbers(tmp_path):
    files = write_report(
        tmp_path / "report", MEASUREMENTS, COMPARISONS, metadata={"hardware": "cpu-amd-epyc-2c", "triton": "2.51.0"}
    )

    assert files.json.exists() and files.markdown.exists()
    assert sorted(p.name for p in files.plots) == [
        "against_baseline.png",
        "latency_breakdown.png",
        "latency_vs_throughput.png",
    ]
    for plot in files.plots:
        data = plot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000

    document = json.loads(files.json.read_text())
    assert document["summary"] == "1 ok, 1 regression, 1 missing"
    assert document["metadata"]["hardware"] == "cpu-amd-epyc-2c"
    assert document["measurements"]["sleep-10ms"][0]["throughput"] == pytest.approx(99.0)
    assert document["measurements"]["sleep-20ms"][3]["load"] == {"mode": "concurrency", "concurrency": 8}
    assert document["comparisons"][0]["verdict"] == "regression"
    assert document["comparisons"][0]["baseline"]["value"] == 100.0
    assert document["failed"] == [COMPARISONS[0].message]

    markdown = files.markdown.read_text()
    assert "| sleep-10ms/c1 | throughput | 100 infer/s | 87 infer/s | -13.0% | **REGRESSION** |" in markdown
    assert "| sleep-20ms | c8 | 46 |" in markdown  # 1000/20 * (1 - 0.08)
    assert "**saturated**" in markdown and "**no**" in markdown  # c8: saturated client, unstable
    assert "![latency_vs_throughput.png](latency_vs_throughput.png)" in markdown
    assert "- **hardware**: cpu-amd-epyc-2c" in markdown


def test_a_report_without_measurements_or_baselines_has_no_plots(tmp_path):
    files = write_report(tmp_path, {}, COMPARISONS[2:])
    assert files.plots == ()
    assert json.loads(files.json.read_text())["summary"] == "1 missing"


def test_rows_follow_natural_order_of_load_points():
    entry = BaselineEntry(1.0, "infer/s", "higher", 0.05)
    rows = summary_lines([compare(f"m/c{c}", "throughput", entry, entry) for c in (16, 2, 1)])[3:]
    assert [row.split()[0] for row in rows] == ["m/c1", "m/c2", "m/c16"]


def test_the_latency_plot_places_each_baseline_where_both_its_throughput_and_p50_are_stored():
    p50 = BaselineEntry(10_000, "us", "lower", 0.05)
    comparisons = [
        *COMPARISONS,
        compare("sleep-10ms/c1", "latency_p50", BaselineEntry(11_000, "us", "lower", 0.05), p50),
        compare("sleep-10ms/c2", "throughput", throughput(90.0), throughput(95.0)),  # no p50 stored: no point
    ]
    assert _baseline_points(comparisons) == {"sleep-10ms/c1": ((100.0, 10.0), Verdict.REGRESSION)}
