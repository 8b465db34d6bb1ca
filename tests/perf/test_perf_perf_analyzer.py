"""The perf_analyzer engine. perf_analyzer cannot be installed here, so these tests use CSV files written
in its -f format (header and column order as perf_analyzer writes them) and, for the engine, a stand-in
executable that writes such a file where -f says."""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.load import Concurrency, RequestRate
from pytest_triton.perf.perf_analyzer import (
    PerfAnalyzerEngine,
    input_data,
    parse_perf_analyzer_csv,
    unstable_loads,
)
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ClientSecurity, ServerEndpoint

HEADER = (
    "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,"
    "Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency"
)
# Rows sorted by throughput, as perf_analyzer sorts them.
CSV = f"""{HEADER}
1,69.2,225,2148,64,206,11781,19,0,13891,18795,19753,21018,14443
3,84.2,237,1768,21673,209,11742,17,0,35398,43984,47085,51701,35646
2,87.2,235,1973,9151,190,11346,17,0,21874,28557,29768,34766,22912
"""
ENDPOINT = ServerEndpoint("remote", grpc_url="triton:8001", http_url="triton:8000")
WORKLOAD = Workload("bert", ({"ids": np.arange(6, dtype=np.int64).reshape(2, 3)},), ("logits",), batch_size=2)


def test_rows_are_read_by_column_name():
    rows = parse_perf_analyzer_csv(CSV)

    assert [r.load for r in rows] == [Concurrency(1), Concurrency(3), Concurrency(2)]
    first = rows[0]
    assert first.throughput == 69.2
    assert first.breakdown.client_send_us == 225
    assert first.breakdown.network_server_us == 2148
    assert first.breakdown.server_queue_us == 64
    assert first.breakdown.compute_input_us == 206
    assert first.breakdown.compute_infer_us == 11781
    assert first.breakdown.compute_output_us == 19
    assert first.breakdown.client_recv_us == 0
    assert (first.latency.p50_us, first.latency.p90_us, first.latency.p95_us, first.latency.p99_us) == (
        13891,
        18795,
        19753,
        21018,
    )
    assert first.latency.avg_us == 14443


def test_without_avg_latency_the_breakdown_sum_stands_in_and_extra_sections_are_ignored():
    header = HEADER.removesuffix(",Avg latency") + ",response wait"
    text = f"{header}\n1,163.6,69,1230,33,43,4719,5,9,6133,6191,6224,6415,1000\n\nServer metrics\nGPU,1\n"
    [row] = parse_perf_analyzer_csv(text)
    assert row.latency.avg_us == 69 + 1230 + 33 + 43 + 4719 + 5 + 9


def test_request_rate_files_give_request_rate_loads():
    text = CSV.replace("Concurrency,", "Request Rate,", 1)
    rows = parse_perf_analyzer_csv(text, arrivals="poisson")
    assert rows[0].load == RequestRate(1, "poisson")


def test_a_file_that_is_not_perf_analyzer_csv_is_refused_naming_the_missing_columns():
    with pytest.raises(ValueError, match="Server Queue"):
        parse_perf_analyzer_csv("Concurrency,Inferences/Second\n1,2\n")
    with pytest.raises(ValueError, match="line 2"):
        parse_perf_analyzer_csv(f"{HEADER}\n1,fast,0,0,0,0,0,0,0,0,0,0,0,0\n")


def test_instability_messages_name_the_load():
    output = (
        "Failed to obtain stable measurement within 10 measurement windows for concurrency 4. "
        "Please try to increase the --measurement-interval.\nFailed to obtain stable measurement.\n"
    )
    assert unstable_loads(output) == {4.0}
    assert unstable_loads("Request concurrency: 4\n  Client: ...") == set()


def test_command_passes_the_settings_through(tmp_path):
    settings = MeasurementSettings(window_s=1.5, stability_pct=7, max_windows=12, protocol="grpc")
    engine = PerfAnalyzerEngine(ENDPOINT, binary="/opt/perf_analyzer")

    args = engine.command(WORKLOAD, Concurrency(4), settings, tmp_path / "o.csv", tmp_path / "in.json")

    joined = " ".join(args)
    assert args[0] == "/opt/perf_analyzer"
    for expected in (
        "-m bert", "-u triton:8001", "-i grpc", "-b 2", "--concurrency-range 4:4:1",
        "--measurement-interval 1500", "--stability-percentage 7", "--max-trials 12", f"-f {tmp_path / 'o.csv'}",
    ):  # fmt: skip
        assert expected in joined
    rate = engine.command(WORKLOAD, RequestRate(50, "poisson"), settings, tmp_path / "o.csv", tmp_path / "i")
    rate_args = " ".join(rate)
    assert "--request-rate-range 50:50:1" in rate_args and "--request-distribution poisson" in rate_args
    assert "--percentile" not in joined and "--measurement-mode" not in joined
    counted = MeasurementSettings(percentile=95, min_requests=300)
    counted_args = " ".join(engine.command(WORKLOAD, Concurrency(1), counted, tmp_path / "o.csv", tmp_path / "i"))
    assert "--percentile 95" in counted_args
    assert "--measurement-mode count_windows --measurement-request-count 300" in counted_args


def test_headers_travel_as_H_options(tmp_path):
    secured = ServerEndpoint("remote", "triton:8001", None, ClientSecurity(headers={"Authorization": "Bearer x"}))
    args = PerfAnalyzerEngine(secured, binary="pa").command(
        WORKLOAD, Concurrency(1), MeasurementSettings(), tmp_path / "o.csv", tmp_path / "i.json"
    )
    assert args[args.index("-H") + 1] == "Authorization:Bearer x"


def test_input_data_holds_each_request_as_consecutive_rows_that_perf_analyzer_batches_by_b():
    data = input_data(WORKLOAD)
    rows = [{"ids": {"content": [0, 1, 2], "shape": [3]}}, {"ids": {"content": [3, 4, 5], "shape": [3]}}]
    assert data == {"data": rows}
    # Requests of different lengths: each batch of -b consecutive entries shares its request's shape.
    rotation = Workload("bert", ({"ids": np.zeros((2, 3), np.int64)}, {"ids": np.ones((2, 5), np.int64)}), ("y",), 2)
    assert [e["ids"]["shape"] for e in input_data(rotation)["data"]] == [[3], [3], [5], [5]]
    unbatched = Workload("m", ({"x": np.ones((2, 2), np.float32)},), ("y",), batched=False)
    assert input_data(unbatched)["data"] == [{"x": {"content": [1.0] * 4, "shape": [2, 2]}}]


def fake_perf_analyzer(directory: Path, csv_text: str, stderr: str = "", code: int = 0) -> Path:
    """An executable that writes `csv_text` where -f points, records its arguments, and exits with `code`."""
    script = directory / "perf_analyzer"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, sys
            args = sys.argv[1:]
            open({str(directory / "args.json")!r}, "w").write(json.dumps(args))
            if {csv_text!r}:
                open(args[args.index("-f") + 1], "w").write({csv_text!r})
            sys.stderr.write({stderr!r})
            sys.exit({code})
            """
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_engine_runs_the_binary_and_returns_measurements(tmp_path):
    row = CSV.splitlines()[1]
    binary = fake_perf_analyzer(tmp_path, f"{HEADER}\n{row}\n")

    [result] = PerfAnalyzerEngine(ENDPOINT, binary=binary).measure(WORKLOAD, [Concurrency(1)], MeasurementSettings())

    assert result.engine == "perf_analyzer" and result.stable
    assert result.throughput == 69.2 and result.latency.p99_us == 21018
    assert result.breakdown.compute_infer_us == 11781
    assert result.model == "bert" and result.batch_size == 2
    args = json.loads((tmp_path / "args.json").read_text())
    assert args[args.index("--concurrency-range") + 1] == "1:1:1"
    assert Path(args[args.index("--input-data") + 1]).name == "input.json"


def test_engine_marks_a_load_perf_analyzer_called_unstable(tmp_path):
    row = CSV.splitlines()[1]
    message = "Failed to obtain stable measurement within 10 measurement windows for concurrency 1. Please try"
    binary = fake_perf_analyzer(tmp_path, f"{HEADER}\n{row}\n", stderr=message, code=1)

    [result] = PerfAnalyzerEngine(ENDPOINT, binary=binary).measure(WORKLOAD, [Concurrency(1)], MeasurementSettings())

    assert result.stable is False
    assert result.throughput == 69.2


def test_engine_without_a_result_fails_with_perf_analyzers_own_words(tmp_path):
    message = "error: failed to get model metadata: model 'bert' not found"
    binary = fake_perf_analyzer(tmp_path, "", stderr=message, code=99)

    with pytest.raises(MeasurementFailed, match="model 'bert' not found"):
        PerfAnalyzerEngine(ENDPOINT, binary=binary).measure(WORKLOAD, [Concurrency(1)], MeasurementSettings())


def test_engine_selection_follows_what_is_installed(tmp_path, monkeypatch):
    from pytest_triton.perf.asyncio_engine import AsyncioEngine
    from pytest_triton.perf.measure import select_engine

    monkeypatch.setenv("PATH", str(tmp_path))
    assert isinstance(select_engine(ENDPOINT, "auto"), AsyncioEngine)
    with pytest.raises(MeasurementFailed, match="not on PATH"):
        select_engine(ENDPOINT, "perf_analyzer")
    fake_perf_analyzer(tmp_path, "")
    assert isinstance(select_engine(ENDPOINT, "auto"), PerfAnalyzerEngine)
    assert isinstance(select_engine(ENDPOINT, "asyncio"), AsyncioEngine)
    with pytest.raises(ValueError):
        select_engine(ENDPOINT, "locust")
