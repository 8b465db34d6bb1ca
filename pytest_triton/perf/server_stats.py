"""The server's view of a window: the statistics extension's cumulative counters, subtracted."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_triton.perf.results import LatencyBreakdown
from pytest_triton.server.client import ModelStatistics

_PARTS = ("queue", "compute_input", "compute_infer", "compute_output")


@dataclass(frozen=True)
class ServerWindow:
    """Per-request averages (µs) over the requests the server finished between two snapshots.

    Triton charges every request of a batch the whole batch's compute time, so these are what one
    request experienced, comparable with its client-side latency.
    """

    requests: int
    queue_us: float
    compute_input_us: float
    compute_infer_us: float
    compute_output_us: float
    batch_histogram: dict[int, int]

    @staticmethod
    def between(before: ModelStatistics, after: ModelStatistics) -> "ServerWindow":
        averages = {}
        for part in _PARTS:
            count0, ns0 = before.durations_ns.get(part, (0, 0))
            count1, ns1 = after.durations_ns.get(part, (0, 0))
            count = count1 - count0
            averages[part] = (ns1 - ns0) / count / 1000.0 if count > 0 else 0.0
        histogram = {
            size: after.batch_counts.get(size, 0) - before.batch_counts.get(size, 0)
            for size in sorted(after.batch_counts)
        }
        success0 = before.durations_ns.get("success", (0, 0))[0]
        success1 = after.durations_ns.get("success", (0, 0))[0]
        return ServerWindow(
            requests=success1 - success0,
            queue_us=averages["queue"],
            compute_input_us=averages["compute_input"],
            compute_infer_us=averages["compute_infer"],
            compute_output_us=averages["compute_output"],
            batch_histogram={size: n for size, n in histogram.items() if n > 0},
        )

    def breakdown(self, latency_avg_us: float, client_send_us: float, client_recv_us: float) -> LatencyBreakdown:
        """Split the client's average latency; transport and server overhead is the remainder."""
        accounted = (
            client_send_us
            + client_recv_us
            + self.queue_us
            + self.compute_input_us
            + self.compute_infer_us
            + self.compute_output_us
        )
        return LatencyBreakdown(
            client_send_us=client_send_us,
            # Snapshots and requests are not exactly aligned; a negative remainder is timing skew, not time.
            network_server_us=max(0.0, latency_avg_us - accounted),
            server_queue_us=self.queue_us,
            compute_input_us=self.compute_input_us,
            compute_infer_us=self.compute_infer_us,
            compute_output_us=self.compute_output_us,
            client_recv_us=client_recv_us,
        )
