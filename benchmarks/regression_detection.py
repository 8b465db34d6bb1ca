"""How often does the perf gate cry wolf, and how often does it catch a real slowdown?

Each `run` starts a server and measures a base model and a slower copy of it, alternately, at concurrency 1: A B A B
... Each measurement is the perf suite's (1 s windows until 3 agree within 10%, at most 10) followed by
`--reference-slices` slice pairs of the model alternating with the reference served beside it, as
`--triton-perf-reference` measures. The slices are kept raw (each request's latency) and figured as perf.reference
does at the time of the analysis. `analyze` judges every measurement against a baseline measured in another run, as
CI judges a run against the committed baseline: base against base is an A/A trial (any regression is a false alarm),
slow against base a slowdown trial (a regression should be reported). Verdicts use the library's rules (tolerance,
then 3 sigma of the two measurements' noise): the ratio to the reference at its tolerance, and the other metrics at
the tolerances of a committed baseline file (`--tolerances`). "single" is the first verdict; "confirmed" is the perf
suite's, which measures again before failing: the other metrics must regress in the next measurement of the same
model in the same run too, and the ratio must regress on both measurements' slices pooled
(perf.reference.judge_referenced).

Subjects:
- `bert-tiny`: the zoo's bert-tiny served as ONNX under the perf suite's default policy, against the same artifact
  whose runner runs a share (`--slowdown`) of its batches twice (the python runner's `repeat_fraction`): a real
  model doing more work. `analyze` prints the slowdown it causes end to end, measured side by side.
- `sleep`: the calibration model sleeping 10 ms a batch against one sleeping 10 * (1 + slowdown) ms.

    for i in $(seq 8); do
        .venv/bin/python benchmarks/regression_detection.py run --pairs 6 --out /tmp/d.jsonl
    done
    .venv/bin/python benchmarks/regression_detection.py analyze /tmp/d.jsonl \
        --tolerances baselines/cpu-intel-xeon-f6m167-amx-2c/perf.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Iterator

from side_by_side_detection import serve_copy  # a sibling script: benchmarks/ is on the path when run

from pytest_triton.baselines import Verdict, compare_entries, confirm
from pytest_triton.baselines.entry import BaselineEntry, BaselineFile, BaselineKey
from pytest_triton.perf.alternation import Slice, Slices, alternate
from pytest_triton.perf.baseline_entries import DEFAULT_TOLERANCES, measurement_entries
from pytest_triton.perf.calibration import sleep_model
from pytest_triton.perf.calibration.serve import calibration_server
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.reference import (
    REFERENCE_MODEL,
    SLICE_S,
    ReferencedThroughput,
    judge_referenced,
    referenced_from,
)
from pytest_triton.perf.results import Measurement
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

ROLES = ("base", "slow")
CONFIG = "bert-tiny-onnx-fp32-b1-db100us-p4-p8-i1/c1"  # whose tolerances --tolerances reads
Runs = dict[str, dict[str, list[dict]]]  # run id -> role -> its measurements, in order


@contextlib.contextmanager
def sleep_subject(work: Path, slowdown: float) -> Iterator[tuple[ServerEndpoint, dict[str, Workload]]]:
    base, slow = sleep_model(10, name="sleep10"), sleep_model(10 * (1 + slowdown), name="sleep_slow")
    with calibration_server(work, [base, slow, REFERENCE_MODEL]) as endpoint:
        yield endpoint, {"base": base.workload(), "slow": slow.workload(), "reference": REFERENCE_MODEL.workload()}


@contextlib.contextmanager
def bert_tiny_subject(work: Path, slowdown: float) -> Iterator[tuple[ServerEndpoint, dict[str, Workload]]]:
    from pytest_triton.checks.performance import load_cases, perf_workload
    from pytest_triton.models.zoo import zoo_spec
    from pytest_triton.perf.plan import DYNAMIC_BATCHING
    from pytest_triton.repository.policy import ServingPolicy
    from pytest_triton.session import TritonSession
    from pytest_triton.settings import Settings

    session = TritonSession(Settings(), work_dir=work, cache_dir=work / "exports")
    session.start()
    try:
        assert session.server is not None and session.endpoint is not None  # a local server, started
        deployment = session.deployment(zoo_spec("bert-tiny"), "onnx", "fp32", ServingPolicy(DYNAMIC_BATCHING))
        base = perf_workload(deployment, load_cases(deployment, 1))
        # The same files under another name, with the runner told to repeat a share of its batches.
        slow = serve_copy(session, deployment, f"{deployment.model_name}-slow", slowdown)
        yield session.endpoint, {"base": base, "slow": slow, "reference": session.perf_reference()}
    finally:
        session.close()


SUBJECTS = {"sleep": sleep_subject, "bert-tiny": bert_tiny_subject}


def run(subject: str, pairs: int, slowdown: float, slices: int, out: Path) -> None:
    settings = MeasurementSettings()
    run_id = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="detection-"))
    with SUBJECTS[subject](work, slowdown) as (endpoint, workloads), out.open("a") as sink:
        for index in range(pairs):
            for role in ROLES:
                began = time.perf_counter()
                [m] = measure(endpoint, workloads[role], [Concurrency(1)], settings)
                plain_s = time.perf_counter() - began
                # The slices raw, so that analyze judges them as the library does now.
                taken = alternate(endpoint, (workloads[role], workloads["reference"]), 1, slices, SLICE_S, settings)
                seconds = time.perf_counter() - began
                record = {"run": run_id, "subject": subject, "slowdown": slowdown, "index": index, "role": role}
                record |= {"seconds": seconds, "plain_seconds": plain_s, "measurement": m.to_dict()}
                record["slices"] = {
                    name: [[piece.seconds, list(piece.latencies_us)] for piece in side]
                    for name, side in (("model", taken.first), ("reference", taken.second))
                }
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                print(
                    f"{index:3} {role}: {m.throughput:6.1f} inf/s, {_referenced(record).ratio:.3f} x the reference, "
                    f"{seconds:.1f} s"
                )
    print(f"run {run_id}: {2 * pairs} measurements in {time.perf_counter() - started:.0f} s")


def _referenced(record: dict, pairs: int | None = None) -> ReferencedThroughput:
    """A measurement's slices (concurrency 1, one inference a request: `run`'s) as perf.reference figures them."""
    raw = record.get("slices")
    if not isinstance(raw, dict):
        raise SystemExit("a record without raw slices: measured by an older version of this benchmark; run it again")
    model, reference = (
        tuple(Slice(tuple(latencies), seconds) for seconds, latencies in raw[name][:pairs])
        for name in ("model", "reference")
    )
    return referenced_from(Slices(model, reference), 1)


@dataclasses.dataclass(frozen=True)
class Judging:
    """How `analyze` judges: the plain metrics' tolerances (empty: the library's defaults), and how many of each
    measurement's slice pairs count (the first ones; None: all): what fewer slices would have caught."""

    tolerances: dict[str, float]
    slices: int | None = None

    def referenced(self, record: dict) -> ReferencedThroughput:
        return _referenced(record, self.slices)

    def plain(self, record: dict) -> dict[str, BaselineEntry]:
        entries = measurement_entries(Measurement.from_dict(record["measurement"]), tolerances=self.tolerances)
        kept = self.tolerances or DEFAULT_TOLERANCES
        return {name: entry for name, entry in entries.items() if name in kept}

    def regressed(self, baseline: dict, new: dict, again: dict | None) -> tuple[set[str], set[str]]:
        """Metrics that regress in `new` against `baseline`: as first judged (the ratio screened), and as the perf
        suite decides with `again`, the next measurement (the plain metrics confirmed by it, the ratio judged on
        both measurements' slices pooled)."""
        stored = self.plain(baseline) | self.referenced(baseline).entries()
        file = BaselineFile(BaselineKey("bench", "detection"), {}, {"cfg": stored})
        plain = compare_entries("cfg", self.plain(new), file)
        ratio, _ = judge_referenced("cfg", self.referenced(new), file)
        single = {c.metric for c in [*plain, ratio] if c.verdict is Verdict.REGRESSION}
        if again is None:
            return single, set()
        plain = confirm(plain, compare_entries("cfg", self.plain(again), file))
        ratio, _ = judge_referenced("cfg", self.referenced(new), file, again=lambda: self.referenced(again))
        return single, {c.metric for c in [*plain, ratio] if c.verdict is Verdict.REGRESSION}


def _tolerances(path: Path | None) -> dict[str, float]:
    """The plain metrics' tolerances as a committed baseline file sets them; without one, the library's defaults."""
    if path is None:
        return {}
    stored = BaselineFile.from_json(json.loads(path.read_text())).entries[CONFIG]
    return {name: entry.tolerance for name, entry in stored.items()}


def analyze(path: Path, tolerances_file: Path | None, slices: int | None) -> None:
    judging = Judging(_tolerances(tolerances_file), slices)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    subjects: dict[str, dict[str, dict[str, list[dict]]]] = {}  # subject -> run -> role -> measurements in order
    for r in records:
        subjects.setdefault(r["subject"], {}).setdefault(r["run"], {}).setdefault(r["role"], []).append(r)
    for subject, runs in sorted(subjects.items()):
        seconds = [r["seconds"] for roles in runs.values() for series in roles.values() for r in series]
        plain = [r["plain_seconds"] for roles in runs.values() for series in roles.values() for r in series]
        print(
            f"{subject}: {len(seconds)} measurements in {len(runs)} runs, {statistics.mean(seconds):.1f} s each "
            f"(the perf suite's part {statistics.mean(plain):.1f} s; max {max(seconds):.1f} s)"
        )
        _spread(runs, judging)
        _print("A/A (false alarms)", _trials(runs, runs, "base"), judging)
        for slowdown in sorted({r["slowdown"] for roles in runs.values() for r in roles.get("slow", [])}):
            slowed = {run: roles for run, roles in runs.items() if roles["slow"][0]["slowdown"] == slowdown}
            print(f" slowdown {slowdown:g} ({len(slowed)} runs):")
            _side_by_side(slowed, judging)
            _print("slowdown (caught)", _trials(slowed, runs, "slow"), judging)


def _side_by_side(runs: Runs, judging: Judging) -> None:
    """The slowdown end to end: each slow measurement over the base measurement before it, in the same run."""
    ratios: dict[str, list[float]] = {"throughput": [], "throughput_vs_reference": []}
    for roles in runs.values():
        for base, slow in zip(roles.get("base", []), roles.get("slow", [])):
            ratios["throughput"].append(slow["measurement"]["throughput"] / base["measurement"]["throughput"])
            ratios["throughput_vs_reference"].append(judging.referenced(slow).ratio / judging.referenced(base).ratio)
    for metric, values in ratios.items():
        if len(values) > 1:
            print(
                f"  slow/base {metric} side by side: median {statistics.median(values):.3f} "
                f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} pairs)"
            )


def _spread(runs: Runs, judging: Judging) -> None:
    """How much a base measurement moves within a run and between runs: the noise a stored baseline meets."""
    for metric, value in (
        ("throughput", lambda r: r["measurement"]["throughput"]),
        ("throughput_vs_reference", lambda r: judging.referenced(r).ratio),
    ):
        per_run = [[value(r) for r in roles.get("base", [])] for roles in runs.values()]
        per_run = [values for values in per_run if values]
        within = [statistics.stdev(v) / statistics.fmean(v) for v in per_run if len(v) > 1] or [float("nan")]
        means = [statistics.fmean(v) for v in per_run]
        between = statistics.stdev(means) / statistics.fmean(means) if len(means) > 1 else float("nan")
        every = [x for v in per_run for x in v]
        overall = statistics.stdev(every) / statistics.fmean(every) if len(every) > 1 else float("nan")
        print(
            f"  base {metric}: cv within a run {statistics.fmean(within):.1%} (mean of {len(within)} runs), "
            f"of the run means {between:.1%}, of all {len(every)} measurements {overall:.1%}"
        )


def _trials(new_runs: Runs, baseline_runs: Runs, role: str) -> list[tuple[dict, dict, dict | None]]:
    """(baseline, new, the next measurement of the same model in the new one's run): each `role` measurement of
    `new_runs` against every base measurement of the other runs."""
    trials = []
    for run, roles in new_runs.items():
        series = roles.get(role, [])
        for i, new in enumerate(series):
            again = series[i + 1] if i + 1 < len(series) else None
            for other, other_roles in baseline_runs.items():
                if other != run:
                    trials += [(baseline, new, again) for baseline in other_roles.get("base", [])]
    return trials


def _print(title: str, trials: list[tuple[dict, dict, dict | None]], judging: Judging) -> None:
    verdicts = [(judging.regressed(base, new, again), again is not None) for base, new, again in trials]
    for label, results in (
        ("single", [single for (single, _), _ in verdicts]),
        ("confirmed", [confirmed for (_, confirmed), has_again in verdicts if has_again]),
    ):
        flagged = sum(1 for metrics in results if metrics)
        share = flagged / len(results) if results else 0.0
        per_metric = dict(Counter(metric for metrics in results for metric in metrics))
        counts = f"{flagged:4}/{len(results):<4} trials report a regression ({share:5.1%})"
        print(f"  {title:22} {label:9}: {counts}; {per_metric}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--subject", choices=sorted(SUBJECTS), default="bert-tiny")
    run_parser.add_argument("--pairs", type=int, default=6)
    run_parser.add_argument("--slowdown", type=float, default=0.44, help="share of extra work (see above)")
    run_parser.add_argument("--reference-slices", type=int, default=32)
    run_parser.add_argument("--out", type=Path, required=True)
    analyze_parser = commands.add_parser("analyze")
    analyze_parser.add_argument("path", type=Path)
    analyze_parser.add_argument("--tolerances", type=Path, help="a committed perf baseline file (bert-tiny's c1)")
    analyze_parser.add_argument("--slices", type=int, help="judge the first N slice pairs of each measurement only")
    args = parser.parse_args()
    if args.command == "run":
        run(args.subject, args.pairs, args.slowdown, args.reference_slices, args.out)
    else:
        analyze(args.path, args.tolerances, args.slices)


if __name__ == "__main__":
    main()
