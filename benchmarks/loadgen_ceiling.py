"""How fast can the asyncio load generator go on this machine? The identity model does no work, so its
throughput is bounded by the client, the server's frontend and the python backend's IPC.

    .venv/bin/python benchmarks/loadgen_ceiling.py [--protocol grpc http] [--concurrency 1 4 16]

Prints requests/s per concurrency, the client process CPU (cores) and whether it was saturated.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from pytest_triton.baselines.hardware import hardware_key
from pytest_triton.perf.calibration import identity_model
from pytest_triton.perf.calibration.serve import calibration_server
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.settings import MeasurementSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", nargs="+", default=["grpc", "http"], choices=["grpc", "http"])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--window", type=float, default=1.0)
    args = parser.parse_args()

    model = identity_model()
    print(f"hardware {hardware_key()}, {len(os.sched_getaffinity(0))} usable cores, server on the same machine")
    # CPU µs per request: what one request costs the client, whatever else shares the machine.
    columns = f"{'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'client cores':>12} {'cpu us/req':>10}"
    print(f"{'protocol':8} {'conc':>4} {columns} saturated stable")
    started = time.perf_counter()
    with calibration_server(Path(tempfile.mkdtemp(prefix="loadgen-ceiling-")), [model]) as endpoint:
        for protocol in args.protocol:
            settings = MeasurementSettings(window_s=args.window, warmup_s=0.5, max_windows=6, protocol=protocol)
            points = [Concurrency(c) for c in args.concurrency]
            for m in measure(endpoint, model.workload(), points, settings):
                print(
                    f"{protocol:8} {m.load.requests:>4} {m.throughput:>8.0f} {m.latency.p50_us / 1000:>7.2f} "
                    f"{m.latency.p99_us / 1000:>7.2f} {m.client_cpu_cores:>12.2f} "
                    f"{m.client_cpu_cores / m.throughput * 1e6:>10.0f} {str(m.client_saturated):9} {m.stable}"
                )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
