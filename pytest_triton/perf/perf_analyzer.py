"""NVIDIA's perf_analyzer as an engine: run it with our settings, read its CSV into Measurements."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pytest_triton.errors import Unsupported
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.load import Concurrency, LoadPoint, RequestRate
from pytest_triton.perf.results import LatencyBreakdown, LatencyStats, Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

NOT_INSTALLED = "perf_analyzer is not on PATH; install Triton's client SDK or use the asyncio engine"
_BREAKDOWN_COLUMNS = {
    "client_send_us": "Client Send",
    "network_server_us": "Network+Server Send/Recv",
    "server_queue_us": "Server Queue",
    "compute_input_us": "Server Compute Input",
    "compute_infer_us": "Server Compute Infer",
    "compute_output_us": "Server Compute Output",
    "client_recv_us": "Client Recv",
}
_PERCENTILE_COLUMNS = {f"p{p}_us": f"p{p} latency" for p in (50, 90, 95, 99)}
_UNSTABLE = re.compile(
    r"Failed to obtain stable measurement within \d+ measurement windows for (?:concurrency|request rate) ([\d.]+)"
)


@dataclass(frozen=True)
class PerfAnalyzerRow:
    """One row of perf_analyzer's -f CSV. Times in µs, as perf_analyzer writes them."""

    load: LoadPoint
    throughput: float
    latency: LatencyStats
    breakdown: LatencyBreakdown


def parse_perf_analyzer_csv(text: str, arrivals: str = "constant") -> list[PerfAnalyzerRow]:
    """Rows of perf_analyzer's CSV (first column Concurrency or Request Rate). Extra columns are ignored;
    "Avg latency" is optional (older versions lack it: then the breakdown's sum stands in)."""
    lines = text.splitlines()
    # Later perf_analyzer versions append further sections (server metrics) after a blank line.
    table = lines[: lines.index("")] if "" in lines else lines
    reader = csv.DictReader(io.StringIO("\n".join(table)))
    header = reader.fieldnames or []
    mode = "Concurrency" if "Concurrency" in header else "Request Rate" if "Request Rate" in header else None
    required = ["Inferences/Second", *_BREAKDOWN_COLUMNS.values(), *_PERCENTILE_COLUMNS.values()]
    missing = [c for c in required if c not in header] + ([] if mode else ["Concurrency or Request Rate"])
    if missing:
        raise ValueError(f"not a perf_analyzer CSV: columns {missing} are missing (header: {header})")
    rows = []
    for number, record in enumerate(reader, start=2):
        try:
            breakdown = LatencyBreakdown(**{field: float(record[col]) for field, col in _BREAKDOWN_COLUMNS.items()})
            percentiles = {field: float(record[col]) for field, col in _PERCENTILE_COLUMNS.items()}
            average = (
                float(record["Avg latency"])
                if record.get("Avg latency")
                else sum(float(record[col]) for col in _BREAKDOWN_COLUMNS.values())
            )
            load: LoadPoint = (
                Concurrency(int(float(record[mode])))
                if mode == "Concurrency"
                else RequestRate(float(record[mode]), arrivals)  # type: ignore[arg-type]
            )
            throughput = float(record["Inferences/Second"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"perf_analyzer CSV line {number}: {error}") from None
        rows.append(PerfAnalyzerRow(load, throughput, LatencyStats(avg_us=average, **percentiles), breakdown))
    return rows


def unstable_loads(output: str) -> set[float]:
    """Concurrencies / rates for which perf_analyzer said it never reached a stable measurement."""
    return {float(m.group(1)) for m in _UNSTABLE.finditer(output)}


def _load_value(point: LoadPoint) -> float:
    return float(point.requests) if isinstance(point, Concurrency) else point.per_second


class PerfAnalyzerEngine:
    """Runs the perf_analyzer binary, one invocation per load point (so every point gets its own
    result even when an earlier one is unstable, which would stop perf_analyzer's own sweep)."""

    name = "perf_analyzer"

    def __init__(self, endpoint: ServerEndpoint, binary: str | Path | None = None) -> None:
        self.endpoint = endpoint
        found = binary or shutil.which("perf_analyzer")
        if found is None:
            raise MeasurementFailed(NOT_INSTALLED)
        self.binary = Path(found)

    def command(
        self, workload: Workload, point: LoadPoint, settings: MeasurementSettings, csv_path: Path, data_path: Path
    ) -> list[str]:
        args = [
            str(self.binary),
            "-m", workload.model,
            "-u", self.endpoint.url(settings.protocol),
            "-i", settings.protocol,
            "-b", str(workload.batch_size),
            "--measurement-interval", str(int(settings.window_s * 1000)),
            "--stability-percentage", f"{settings.stability_pct:g}",
            "--max-trials", str(settings.max_windows),
            "--input-data", str(data_path),
            "-f", str(csv_path),
        ]  # fmt: skip
        if workload.model_version:
            args += ["-x", workload.model_version]
        if settings.percentile is not None:
            args += ["--percentile", str(settings.percentile)]
        if settings.min_requests:
            # perf_analyzer's count windows: at least this many requests, and at least the interval.
            args += ["--measurement-mode", "count_windows", "--measurement-request-count", str(settings.min_requests)]
        if isinstance(point, Concurrency):
            args += ["--concurrency-range", f"{point.requests}:{point.requests}:1"]
        else:
            args += ["--request-rate-range", f"{point.per_second:g}:{point.per_second:g}:1"]
            args += ["--request-distribution", point.arrivals]
        for key, value in self.endpoint.security.headers.items():
            args += ["-H", f"{key}:{value}"]
        if self.endpoint.security.ssl:
            args += _ssl_args(settings.protocol, self.endpoint.security.root_certificates)
        return args

    def measure(
        self, workload: Workload, points: Sequence[LoadPoint], settings: MeasurementSettings = MeasurementSettings()
    ) -> list[Measurement]:
        if workload.sequence_length:  # its correlation IDs and sequence lengths are not passed on yet
            raise Unsupported(
                f"{workload.model} is a sequence model, which the perf_analyzer engine does not measure yet; the "
                "asyncio engine does (--triton-perf-engine=asyncio)"
            )
        with tempfile.TemporaryDirectory(prefix="pytest-triton-pa-") as scratch:
            data_path = Path(scratch) / "input.json"
            data_path.write_text(json.dumps(input_data(workload)))
            return [self._measure_point(workload, p, settings, Path(scratch), data_path) for p in points]

    def _measure_point(
        self, workload: Workload, point: LoadPoint, settings: MeasurementSettings, scratch: Path, data_path: Path
    ) -> Measurement:
        csv_path = scratch / f"{point.label}.csv"
        timeout = 2 * settings.max_windows * settings.window_s + 2 * settings.request_timeout_s + 60
        try:
            done = subprocess.run(
                self.command(workload, point, settings, csv_path, data_path),
                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise MeasurementFailed(f"perf_analyzer did not finish within {timeout:.0f} s at {point.label}") from None
        output = done.stdout + done.stderr
        arrivals = point.arrivals if isinstance(point, RequestRate) else "constant"
        rows = parse_perf_analyzer_csv(csv_path.read_text(), arrivals) if csv_path.exists() else []
        if not rows:
            raise MeasurementFailed(
                f"perf_analyzer gave no result at {point.label} (exit code {done.returncode}); "
                f"its output ends with:\n{output[-2000:]}"
            )
        stable = _load_value(point) not in unstable_loads(output)
        return to_measurement(rows[0], workload, settings.protocol, stable=stable)


def to_measurement(row: PerfAnalyzerRow, workload: Workload, protocol: str, stable: bool) -> Measurement:
    """perf_analyzer reports no windows, batch histogram or client CPU: those stay empty."""
    return Measurement(
        model=workload.model,
        protocol=protocol,
        engine=PerfAnalyzerEngine.name,
        load=row.load,
        batch_size=workload.batch_size,
        throughput=row.throughput,
        latency=row.latency,
        breakdown=row.breakdown,
        batch_histogram={},
        stable=stable,
        windows=(),
        tail_windows=0,
        requests=0,
        errors=0,
    )


def input_data(workload: Workload) -> dict[str, object]:
    """perf_analyzer's --input-data JSON: one entry per row, each request's rows consecutive, so that a batch of
    `-b` entries is one request of the rotation (its rows share a shape). perf_analyzer does not check the answers:
    its validation_data compares them exactly, which no float output under batching survives."""
    entries = []
    for request in workload.requests:
        rows = len(next(iter(request.values()))) if workload.batched else 1
        for row in range(rows):
            entry = {}
            for name, array in request.items():
                one = array[row] if workload.batched else array
                values = one.ravel().tolist()
                if one.dtype == object:  # BYTES: perf_analyzer reads strings
                    values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
                entry[name] = {"content": values, "shape": list(one.shape)}
            entries.append(entry)
    return {"data": entries}


def _ssl_args(protocol: str, root_certificates: str | None) -> list[str]:
    if protocol == "grpc":
        args = ["--ssl-grpc-use-ssl"]
        return args + (["--ssl-grpc-root-certifications-file", root_certificates] if root_certificates else [])
    args = ["--ssl-https-verify-peer", "1", "--ssl-https-verify-host", "2"]
    return args + (["--ssl-https-ca-certificates-file", root_certificates] if root_certificates else [])
