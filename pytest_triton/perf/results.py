"""What a measurement found: frozen records that the baselines and the report read."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pytest_triton.perf.early_stopping import early_stopping_percentile
from pytest_triton.perf.load import LoadPoint, load_from_dict

if TYPE_CHECKING:  # numpy is imported where figures are computed: plans are built from options at configure time
    import numpy as np

PERCENTILES = (50, 90, 95, 99)
_BOUND_MIN_REQUESTS = 459  # the fewest latencies any of which bounds a p99 at 99% confidence

# Metric name -> (unit, which direction is better). Latencies in µs as perf_analyzer reports them.
METRICS: dict[str, tuple[str, str]] = {
    "throughput": ("infer/s", "higher"),
    "latency_avg": ("us", "lower"),
    **{f"latency_p{p}": ("us", "lower") for p in PERCENTILES},
    "latency_p99_bound": ("us", "lower"),  # where at least 459 requests were measured
    # Where the server's processes are on this machine (perf.server_usage); absent elsewhere.
    "server_cpu_us": ("us", "lower"),  # CPU time of the server's processes per inference
    "server_rss": ("bytes", "lower"),  # their resident memory at its highest during the windows
    # The resident memory of the model's own python-backend stubs at its highest: unlike the whole server's,
    # it does not depend on what else the run loaded, so baselines keep it.
    "model_rss": ("bytes", "lower"),
    # From the server's metrics endpoint, where it has GPUs: summed over the GPUs it reports.
    "gpu_memory": ("bytes", "lower"),  # at its highest during the windows
    "gpu_power": ("W", "lower"),  # on average
}
# The metrics above that only a server on this machine, or with GPUs, gives: metric -> Measurement field.
SERVER_FIGURES = {
    "server_cpu_us": "server_cpu_us",
    "server_rss": "server_rss_bytes",
    "model_rss": "model_rss_bytes",
    "gpu_memory": "gpu_memory_bytes",
    "gpu_power": "gpu_power_w",
}


@dataclass(frozen=True)
class LatencyStats:
    """Client-side request latency, µs."""

    avg_us: float
    p50_us: float
    p90_us: float
    p95_us: float
    p99_us: float
    # MLPerf's early-stopping estimate: a bound on the p99 at 99% confidence; None under 459 requests. Under about
    # 800 requests it is the slowest one, so it is reported, not kept in baselines.
    p99_bound_us: float | None = None

    @staticmethod
    def of(latencies_us: Sequence[float] | np.ndarray, bound: bool = False) -> "LatencyStats":
        """`bound`: also the p99 bound (a pass over every latency: for a measurement, not for each window)."""
        import numpy as np

        values = np.asarray(latencies_us, dtype=float)
        if values.size == 0:
            return LatencyStats(0.0, 0.0, 0.0, 0.0, 0.0)
        p50, p90, p95, p99 = np.percentile(values, PERCENTILES)
        if bound and values.size >= _BOUND_MIN_REQUESTS:
            bound_us = early_stopping_percentile(values.tolist(), 99)
        else:
            bound_us = None
        return LatencyStats(float(values.mean()), float(p50), float(p90), float(p95), float(p99), bound_us)


@dataclass(frozen=True)
class LatencyBreakdown:
    """Where an average request spent its time, µs. Server parts come from the statistics extension;
    network_server is what remains of the client-side latency (transport plus server overhead)."""

    client_send_us: float
    network_server_us: float
    server_queue_us: float
    compute_input_us: float
    compute_infer_us: float
    compute_output_us: float
    client_recv_us: float


@dataclass(frozen=True)
class WindowResult:
    """One measurement window."""

    duration_s: float
    requests: int  # completed successfully inside the window
    errors: int
    dropped: int  # open loop only: sends skipped at the in-flight limit
    throughput: float  # inferences/s
    latency: LatencyStats
    client_cpu_cores: float
    server_cpu_s: float | None = None  # CPU time the server's processes spent in the window, where known
    steal_share: float | None = None  # of this machine's CPU time, the share a hypervisor gave to other guests


@dataclass(frozen=True)
class Measurement:
    """One load point of one model: the aggregate of its last (stable) windows."""

    model: str
    protocol: str
    engine: str
    load: LoadPoint
    batch_size: int
    throughput: float  # inferences/s
    latency: LatencyStats
    breakdown: LatencyBreakdown
    batch_histogram: Mapping[int, int] = field(hash=False)  # server batch size -> executions in the window
    stable: bool
    windows: tuple[WindowResult, ...]  # every window measured, in order; empty where the engine has none
    tail_windows: int  # how many of the last windows the aggregate covers
    requests: int  # completed in the aggregated windows
    errors: int  # failed in any window: an error anywhere is worth seeing
    dropped: int = 0  # open loop: sends skipped at the in-flight limit, in any window
    first_error: str | None = None
    # Answers checked against the expected ones during the measurement (Workload.check), in any window.
    answers_checked: int = 0
    answers_wrong: int = 0
    first_wrong: str | None = None
    client_cpu_cores: float = 0.0
    client_saturated: bool = False
    server_cpu_us: float | None = None  # CPU µs of the server's processes per inference, over the tail
    server_rss_bytes: int | None = None
    model_rss_bytes: int | None = None
    gpu_memory_bytes: float | None = None
    gpu_utilization: float | None = None  # 0..1, the GPUs' mean, averaged over the windows; reported only
    gpu_power_w: float | None = None
    steal_share: float | None = None  # over the tail, as in WindowResult

    @property
    def tail(self) -> tuple[WindowResult, ...]:
        return self.windows[-self.tail_windows :] if self.tail_windows else ()

    def value(self, metric: str) -> float | None:
        """The figure of `metric`; None for a server figure this measurement could not read."""
        if metric in SERVER_FIGURES:
            figure = getattr(self, SERVER_FIGURES[metric])
            return None if figure is None else float(figure)
        return _metric_of(metric, self.throughput, self.latency)

    def noise(self, metric: str) -> float | None:
        """Coefficient of variation of `metric` across the aggregated windows; None with fewer than two."""
        if metric in SERVER_FIGURES and metric != "server_cpu_us":
            return None
        if metric == "server_cpu_us":
            values = [
                w.server_cpu_s / w.throughput / w.duration_s * 1e6 for w in self.tail if w.server_cpu_s and w.throughput
            ]
        else:
            read = (_metric_of(metric, w.throughput, w.latency) for w in self.tail)
            values = [v for v in read if v is not None]  # a window's p99 bound needs more requests than it has
        if len(values) < 2:
            return None
        mean = sum(values) / len(values)
        if mean <= 0:
            return None
        return statistics.stdev(values) / mean

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["load"] = self.load.to_dict()
        data["batch_histogram"] = {str(k): v for k, v in sorted(self.batch_histogram.items())}
        data["noise"] = {name: self.noise(name) for name in METRICS}
        return _finite(data)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "Measurement":
        """Back from to_dict(), e.g. after travelling from an xdist worker to the controller."""
        fields = {k: v for k, v in data.items() if k != "noise"}
        windows = tuple(WindowResult(**{**w, "latency": LatencyStats(**w["latency"])}) for w in data["windows"])
        return Measurement(
            **{
                **fields,
                "load": load_from_dict(data["load"]),
                "latency": LatencyStats(**data["latency"]),
                "breakdown": LatencyBreakdown(**data["breakdown"]),
                "batch_histogram": {int(k): v for k, v in data["batch_histogram"].items()},
                "windows": windows,
            }
        )


def _metric_of(metric: str, throughput: float, latency: LatencyStats) -> float | None:
    if metric not in METRICS:
        raise KeyError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
    if metric == "throughput":
        return throughput
    value = getattr(latency, metric.removeprefix("latency_") + "_us")
    return None if value is None else float(value)


def _finite(value: Any) -> Any:
    # JSON has no NaN/inf; a value that is not a number is written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
