"""How often do the baselines cry wolf, and how often do they catch a real 10% slowdown?

One run measures the sleep model at 10 ms and at 11 ms per batch, alternately, at concurrency 1:
A10 B11 A10 B11 ... Every two consecutive measurements of the same model are an A/A trial (the first is
the baseline, the second the new run; nothing changed, so any regression is a false alarm); every A10
followed by its B11 is a slowdown trial (10% slower; a regression should be reported). Verdicts use the
library's defaults (measurement_entries' tolerances, 3 sigma of combined noise) on all six metrics.
"confirmed" also reports the rates when a regression must be reproduced by the next measurement of the
same model against the same baseline (baselines.confirm), as a suite would re-measure before failing.

    .venv/bin/python benchmarks/regression_detection.py run --pairs 13 --out /tmp/detection.jsonl
    .venv/bin/python benchmarks/regression_detection.py analyze /tmp/detection.jsonl

`run` appends to the file, so several short runs (each under a minute) add up to more trials.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from pytest_triton.baselines import Comparison, Verdict, compare_entries, confirm
from pytest_triton.baselines.entry import BaselineFile, BaselineKey
from pytest_triton.baselines.verdict import NOISE_SIGMAS
from pytest_triton.perf.baseline_entries import measurement_entries
from pytest_triton.perf.calibration import sleep_model
from pytest_triton.perf.calibration.serve import calibration_server
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings

BASE, SLOW = sleep_model(10, name="sleep10"), sleep_model(11, name="sleep11")


def run(pairs: int, window_s: float, out: Path) -> None:
    settings = MeasurementSettings(window_s=window_s, warmup_s=0.3)
    run_id = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="detection-"))
    with calibration_server(work, [BASE, SLOW]) as endpoint, out.open("a") as sink:
        for index in range(pairs):
            for model in (BASE, SLOW):
                began = time.perf_counter()
                [m] = measure(endpoint, model.workload(), [Concurrency(1)], settings)
                seconds = time.perf_counter() - began
                record = {"run": run_id, "index": index, "model": model.name, "seconds": seconds, "window_s": window_s}
                sink.write(json.dumps({**record, "measurement": m.to_dict()}) + "\n")
                sink.flush()
                print(f"{index:3} {model.name}: {m.throughput:6.2f} inf/s, {len(m.windows)} windows, {seconds:.1f} s")
    print(f"run {run_id}: {2 * pairs} measurements in {time.perf_counter() - started:.0f} s")


def _compare(baseline: dict, new: dict, sigmas: float) -> list[Comparison]:
    entries = measurement_entries(Measurement.from_dict(baseline["measurement"]))
    file = BaselineFile(BaselineKey("bench", "detection"), {}, {"cfg": entries})
    return compare_entries("cfg", measurement_entries(Measurement.from_dict(new["measurement"])), file, sigmas=sigmas)


def _regressed(comparisons: list[Comparison]) -> list[str]:
    return [c.metric for c in comparisons if c.verdict is Verdict.REGRESSION]


def analyze(path: Path, sigmas: float) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_run: dict[tuple[str, float], dict[str, list[dict]]] = {}
    for r in records:
        by_run.setdefault((r["run"], r["window_s"]), {}).setdefault(r["model"], []).append(r)
    for window_s in sorted({w for _, w in by_run}):
        # (baseline, new, confirming re-measurement or None) per trial
        aa: list[tuple[dict, dict, dict | None]] = []
        slow: list[tuple[dict, dict, dict | None]] = []
        for (_, w), models in by_run.items():
            if w != window_s:
                continue
            for series in models.values():  # A/A: consecutive measurements of one model
                for i in range(len(series) - 1):
                    aa.append((series[i], series[i + 1], series[i + 2] if i + 2 < len(series) else None))
            bases, slows = models.get(BASE.name, []), models.get(SLOW.name, [])
            for i in range(min(len(bases), len(slows))):
                slow.append((bases[i], slows[i], slows[i + 1] if i + 1 < len(slows) else None))
        seconds = [r["seconds"] for r in records if r["window_s"] == window_s]
        print(
            f"window {window_s} s, {sigmas:g} sigma: one measurement takes {sum(seconds) / len(seconds):.1f} s "
            f"(min {min(seconds):.1f}, max {max(seconds):.1f})"
        )
        _print("A/A (false alarms)", aa, sigmas)
        _print("10 -> 11 ms (caught)", slow, sigmas)


def _print(title: str, trials: list[tuple[dict, dict, dict | None]], sigmas: float) -> None:
    plain = [_regressed(_compare(base, new, sigmas)) for base, new, _ in trials]
    confirmed = [
        _regressed(confirm(_compare(base, new, sigmas), _compare(base, again, sigmas)))
        for base, new, again in trials
        if again is not None
    ]
    for label, results in (("single", plain), ("confirmed", confirmed)):
        flagged = sum(1 for metrics in results if metrics)
        share = flagged / len(results) if results else 0.0
        per_metric = dict(Counter(metric for metrics in results for metric in metrics))
        counts = f"{flagged:3}/{len(results):<3} trials report a regression ({share:4.0%})"
        print(f"  {title:22} {label:9}: {counts}; {per_metric}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--pairs", type=int, default=13)
    run_parser.add_argument("--window", type=float, default=0.5)
    run_parser.add_argument("--out", type=Path, required=True)
    analyze_parser = commands.add_parser("analyze")
    analyze_parser.add_argument("path", type=Path)
    analyze_parser.add_argument("--sigmas", type=float, default=NOISE_SIGMAS)
    args = parser.parse_args()
    if args.command == "run":
        run(args.pairs, args.window, args.out)
    else:
        analyze(args.path, args.sigmas)


if __name__ == "__main__":
    main()
