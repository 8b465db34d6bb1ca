"""End to end, as the perf suite would do it: measure calibration models over a concurrency range, judge
each load point against baselines, record them, print the terminal table and write the report directory.

    .venv/bin/python benchmarks/calibration_report.py --baselines /tmp/bl --report /tmp/report [--update]

Run it twice: the first run finds every baseline missing (and records them with --update), the second
compares against them.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pytest_triton.baselines import BaselineKey, BaselineStore, hardware_key, software_versions
from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.calibration import identity_model, sleep_model
from pytest_triton.perf.calibration.serve import calibration_server
from pytest_triton.perf.judge import judge
from pytest_triton.perf.load import concurrency_range
from pytest_triton.perf.measure import measure
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.report.summary import summary_lines
from pytest_triton.report.writer import write_report
from pytest_triton.server.client import TritonClient

SWEEPS = {"sleep-10ms": (sleep_model(10), "1:4:1"), "identity": (identity_model(), "1:16:5")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--update", action="store_true", help="record the measurements as the new baselines")
    parser.add_argument("--window", type=float, default=0.5)
    args = parser.parse_args()

    settings = MeasurementSettings(window_s=args.window, warmup_s=0.3)
    store = BaselineStore(args.baselines)
    key = BaselineKey(hardware_key(), "calibration")
    baseline = store.load(key)
    models = [model for model, _ in SWEEPS.values()]
    with calibration_server(Path(tempfile.mkdtemp(prefix="calibration-report-")), models) as endpoint:
        with TritonClient(endpoint) as client:
            software = software_versions(client.server_metadata(), backend="python")
        measurements, comparisons, entries = {}, [], {}
        for config, (model, load_range) in SWEEPS.items():
            sweep = measure(endpoint, model.workload(), concurrency_range(load_range), settings)
            measurements[config] = sweep
            for point in sweep:
                point_id = f"{config}/{point.load.label}"

                def again(load=point.load, model=model):
                    return measure(endpoint, model.workload(), [load], settings)[0]

                comparisons += judge(point_id, point, baseline, remeasure=again)
                entries[point_id] = measurement_entries(point)
    if args.update:
        store.update(key, software, entries)
        print(f"baselines recorded in {store.path(key)}")
    print("\n".join(summary_lines(comparisons)))
    files = write_report(
        args.report, measurements, comparisons, title="calibration models", metadata={"hardware": key.scope, **software}
    )
    print(f"report: {files.markdown}, {files.json}, {', '.join(str(p) for p in files.plots)}")


if __name__ == "__main__":
    main()
