"""How often does the side-by-side gate (--triton-perf-against) cry wolf, and how often does it catch a real slowdown?

`run` starts a server, deploys bert-tiny as the perf suite does (ONNX, fp32, the default dynamic batcher), and serves
copies of the same files: "base" (the baseline deployment), "same" (an unchanged candidate), and candidates whose
python runner runs a share of its batches twice (the runner's `repeat_fraction`): a real model doing more work, not
a sleep. Each trial measures, at concurrency 1, every candidate side by side with "base" for `--pairs` slice pairs
(the most the budget allows), and "hog": "same" again while a process spins a core for 8 s from a random moment in
the measurement (the machine changes, the deployment does not). It keeps the raw slices, and per trial also the
perf suite's plain measurement of "base" and `--reference-pairs` slice pairs of "base" against the perf reference,
for the cv table.

`analyze` replays each recorded trial through the library's rule (perf.side_by_side.measure_side_by_side: rounds of
16 pairs while a figure is inconclusive and the budget lasts, on the slices' own time), so that the verdicts are the
ones the suite would give. A regression verdict on "same" or "hog" is a false alarm; on a slowed candidate, a catch.
The slowdown each candidate causes end to end is the pooled throughput ratio over all its trials.

    for i in 1 2 3 4; do .venv/bin/python benchmarks/side_by_side_detection.py run --trials 6 --out /tmp/s.jsonl; done
    .venv/bin/python benchmarks/side_by_side_detection.py analyze /tmp/s.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Iterator

from pytest_triton.perf.alternation import Slice, alternate
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.reference import SLICE_S, referenced_from
from pytest_triton.perf.settings import MeasurementSettings, Rounds
from pytest_triton.perf.side_by_side import PairedSlices, measure_side_by_side
from pytest_triton.perf.side_by_side_verdict import Outcome
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

SLOWDOWNS = {"slow5": 0.22, "slow10": 0.44}  # repeat_fraction; the effect end to end is what analyze reports
UNCHANGED = ("same", "hog")
HOG_S = 8.0


def serve_copy(session, deployment, name: str, repeat_fraction: float) -> Workload:
    """`deployment`'s files served again as `name`, its runner repeating that share of its batches; its workload."""
    from pytest_triton.checks.performance import load_cases, perf_workload
    from pytest_triton.repository.store import ModelRepository

    repository = session.server.repository
    config = session.client.model_config(deployment.model_name)
    config.name = name
    config.parameters["repeat_fraction"].string_value = repr(repeat_fraction)
    source = repository / deployment.model_name
    files = {str(p.relative_to(source)): p for p in source.rglob("*") if p.is_file() and p.name != "config.pbtxt"}
    ModelRepository(session.client, repository).place(name, config, files)
    return dataclasses.replace(perf_workload(deployment, load_cases(deployment, 1)), model=name)


@contextlib.contextmanager
def subject(work: Path) -> Iterator[tuple[ServerEndpoint, dict[str, Workload]]]:
    from pytest_triton.models.zoo import zoo_spec
    from pytest_triton.perf.plan import DYNAMIC_BATCHING
    from pytest_triton.repository.policy import ServingPolicy
    from pytest_triton.session import TritonSession
    from pytest_triton.settings import Settings

    session = TritonSession(Settings(), work_dir=work, cache_dir=Path(tempfile.gettempdir()) / "detection-exports")
    session.start()
    try:
        assert session.endpoint is not None
        deployment = session.deployment(zoo_spec("bert-tiny"), "onnx", "fp32", ServingPolicy(DYNAMIC_BATCHING))
        roles = {"base": 0.0, "same": 0.0, **SLOWDOWNS}
        workloads = {role: serve_copy(session, deployment, f"bench-{role}", share) for role, share in roles.items()}
        workloads["hog"] = workloads["same"]
        workloads["reference"] = session.perf_reference()
        yield session.endpoint, workloads
    finally:
        session.close()


@contextlib.contextmanager
def hog(within_s: float) -> Iterator[None]:
    """A process that spins one core for HOG_S seconds, from a random moment in the first `within_s` seconds."""
    delay = random.uniform(0, max(within_s - HOG_S, 0))
    code = f"import time\ntime.sleep({delay})\nend = time.time() + {HOG_S}\nwhile time.time() < end: pass\n"
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield
    finally:
        process.kill()
        process.wait(timeout=10)


def _raw(side: tuple[Slice, ...]) -> list:
    return [[piece.seconds, list(piece.latencies_us)] for piece in side]


def run(trials: int, pairs: int, reference_pairs: int, out: Path) -> None:
    settings = MeasurementSettings()
    run_id = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    with subject(work) as (endpoint, workloads), out.open("a") as sink:
        for trial in range(trials):
            roles = ["same", "hog", *SLOWDOWNS]
            random.shuffle(roles)
            for role in roles:
                began = time.perf_counter()
                spinning = hog(pairs * 2 * SLICE_S) if role == "hog" else contextlib.nullcontext()
                with spinning:
                    taken = alternate(endpoint, (workloads[role], workloads["base"]), 1, pairs, SLICE_S, settings)
                record = {"run": run_id, "trial": trial, "role": role, "seconds": time.perf_counter() - began}
                record["slices"] = {"candidate": _raw(taken.first), "baseline": _raw(taken.second)}
                sink.write(json.dumps(record) + "\n")
            [plain] = measure(endpoint, workloads["base"], [Concurrency(1)], settings)
            referenced = referenced_from(
                alternate(endpoint, (workloads["base"], workloads["reference"]), 1, reference_pairs, SLICE_S, settings),
                1,
            )
            record = {"run": run_id, "trial": trial, "role": "plain", "throughput": plain.throughput}
            record["vs_reference"] = referenced.ratio
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            print(f"run {run_id} trial {trial}: done, base {plain.throughput:.1f} inf/s", flush=True)


def _paired(record: dict) -> PairedSlices:
    sides = (
        tuple(Slice(tuple(latencies), seconds) for seconds, latencies in record["slices"][name])
        for name in ("candidate", "baseline")
    )
    return PairedSlices(*sides, concurrency=1)


def replay(record: dict, rounds: Rounds):
    """The verdict the suite would give, the recorded slices taken in rounds on their own time."""
    whole = _paired(record)
    state = {"at": 0, "clock": 0.0}

    def take(pairs: int) -> PairedSlices:
        start, state["at"] = state["at"], min(state["at"] + pairs, whole.pairs)
        if state["at"] - start < 2:
            raise SystemExit(f"a trial with too few recorded pairs ({whole.pairs}) for the budget: record more")
        chunk = PairedSlices(whole.candidate[start : state["at"]], whole.baseline[start : state["at"]], 1)
        state["clock"] += sum(s.seconds for s in chunk.candidate + chunk.baseline)
        return chunk

    return measure_side_by_side("bench", take, rounds, clock=lambda: state["clock"])[0]


def _upper95(hits: int, n: int) -> float:
    """Clopper-Pearson one-sided 95% upper bound for a rate of hits/n (zero hits: the rule of three, exactly)."""
    if hits == n:
        return 1.0
    low, high = hits / n, 1.0
    for _ in range(60):  # bisection on the binomial tail
        mid = (low + high) / 2
        tail = sum(math.comb(n, k) * mid**k * (1 - mid) ** (n - k) for k in range(hits + 1))
        low, high = (mid, high) if tail > 0.05 else (low, mid)
    return high


def analyze(path: Path, budget_s: float) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rounds = Rounds(budget_s=budget_s)
    by_role: dict[str, list] = defaultdict(list)
    for record in records:
        if record["role"] != "plain":
            by_role[record["role"]].append((record, replay(record, rounds)))
    runs = len({r["run"] for r in records})
    print(f"{len(records)} records from {runs} server runs; budget {budget_s:.0f} s a point")
    print(f"{'role':8} {'trials':>6} {'effect':>8} {'regressed':>10} {'same':>5} {'inconcl.':>8} {'mean s':>7}")
    for role in ("same", "hog", *SLOWDOWNS):
        judged = by_role.get(role, [])
        if not judged:
            continue
        effect = statistics.fmean(1 - v.ratio("throughput").ratio for _, v in judged)
        counts = {o: sum(v.outcome is o for _, v in judged) for o in Outcome}
        seconds = statistics.fmean(v.seconds for _, v in judged)
        print(
            f"{role:8} {len(judged):6} {effect:+8.1%} {counts[Outcome.REGRESSED]:10} {counts[Outcome.SAME]:5} "
            f"{counts[Outcome.INCONCLUSIVE]:8} {seconds:7.1f}"
        )
    alarms = sum(v.outcome in (Outcome.REGRESSED, Outcome.IMPROVED) for role in UNCHANGED for _, v in by_role[role])
    unchanged = sum(len(by_role[role]) for role in UNCHANGED)
    if unchanged:
        bound = _upper95(alarms, unchanged)
        print(f"false alarms: {alarms} of {unchanged} unchanged trials (95% upper bound {bound:.1%})")
    for role in SLOWDOWNS:
        n = len(by_role[role])
        caught = sum(v.outcome is Outcome.REGRESSED for _, v in by_role[role])
        if n:
            print(f"{role}: caught {caught} of {n} (95% lower bound {1 - _upper95(n - caught, n):.1%})")
    _cv_table(records, [v for _, v in by_role["same"]], [r for r, _ in by_role["same"]])


def _cv_table(records: list[dict], verdicts: list, same: list[dict]) -> None:
    """The cv of each figure between trials within a run (pooled over runs) and between runs' means."""
    plain = [r for r in records if r["role"] == "plain"]
    figures = {
        "side-by-side ratio (same/base)": [(r["run"], v.ratio("throughput").ratio) for r, v in zip(same, verdicts)],
        "ratio to the perf reference": [(r["run"], r["vs_reference"]) for r in plain],
        "plain throughput (inf/s)": [(r["run"], r["throughput"]) for r in plain],
    }
    print(f"{'figure':34} {'cv within a run':>16} {'cv between runs':>16}")
    for name, values in figures.items():
        grouped: dict[str, list[float]] = defaultdict(list)
        for run_id, value in values:
            grouped[run_id].append(value)
        within = [statistics.stdev(v) / statistics.fmean(v) for v in grouped.values() if len(v) > 1]
        means = [statistics.fmean(v) for v in grouped.values()]
        between = statistics.stdev(means) / statistics.fmean(means) if len(means) > 1 else float("nan")
        print(f"{name:34} {statistics.fmean(within) if within else float('nan'):16.2%} {between:16.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run")
    running.add_argument("--trials", type=int, default=6)
    # 80: a measurement within the 20 s budget takes up to 40, and a regression is measured again.
    running.add_argument("--pairs", type=int, default=80, help="slice pairs recorded per candidate and trial")
    running.add_argument("--reference-pairs", type=int, default=16)
    running.add_argument("--out", type=Path, required=True)
    analyzing = commands.add_parser("analyze")
    analyzing.add_argument("path", type=Path)
    analyzing.add_argument("--budget", type=float, default=Rounds().budget_s)
    args = parser.parse_args()
    if args.command == "run":
        run(args.trials, args.pairs, args.reference_pairs, args.out)
    else:
        analyze(args.path, args.budget)


if __name__ == "__main__":
    main()
