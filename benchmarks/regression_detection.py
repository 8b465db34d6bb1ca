"""How often do the baselines cry wolf, and how often do they catch a real 10% slowdown?

One run measures a base model and a slower copy of it, alternately, at concurrency 1: A B A B ... Every two
consecutive measurements of the same model are an A/A trial (the first is the baseline, the second the new run;
nothing changed, so any regression is a false alarm); every A followed by its B is a slowdown trial (a regression
should be reported). Verdicts use the library's defaults (measurement_entries' tolerances, 3 sigma of combined
noise) on every metric. "confirmed" also reports the rates when a regression must be reproduced by the next
measurement of the same model against the same baseline (baselines.confirm), as the perf suite re-measures before
failing. Measurements follow the suite's defaults (1 s windows until 3 agree within 10%, at most 10).

Subjects:
- `sleep`: the calibration model sleeping 10 ms a batch against one sleeping 11 ms (a known answer).
- `bert-tiny`: the zoo's bert-tiny served as ONNX under the perf suite's default policy, against the same artifact
  whose runner runs a share (`--slowdown`, default 0.15) of its batches twice (the python runner's
  `repeat_fraction`): a real model doing more work. The paired ratio of the two, printed by `analyze`, is the
  slowdown it causes end to end, measured side by side.

    .venv/bin/python benchmarks/regression_detection.py run --subject bert-tiny --pairs 10 --out /tmp/detection.jsonl
    .venv/bin/python benchmarks/regression_detection.py analyze /tmp/detection.jsonl

`run` appends to the file, so several short runs add up to more trials.
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
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

ROLES = ("base", "slow")


@contextlib.contextmanager
def sleep_subject(work: Path, slowdown: float) -> Iterator[tuple[ServerEndpoint, dict[str, Workload]]]:
    base, slow = sleep_model(10, name="sleep10"), sleep_model(10 * (1 + slowdown), name="sleep_slow")
    with calibration_server(work, [base, slow]) as endpoint:
        yield endpoint, {"base": base.workload(), "slow": slow.workload()}


@contextlib.contextmanager
def bert_tiny_subject(work: Path, slowdown: float) -> Iterator[tuple[ServerEndpoint, dict[str, Workload]]]:
    from pytest_triton.checks.performance import load_cases, perf_workload
    from pytest_triton.models.zoo import zoo_spec
    from pytest_triton.perf.plan import DYNAMIC_BATCHING
    from pytest_triton.repository.policy import ServingPolicy
    from pytest_triton.repository.store import ModelRepository
    from pytest_triton.session import TritonSession
    from pytest_triton.settings import Settings

    session = TritonSession(Settings(), work_dir=work, cache_dir=work / "exports")
    session.start()
    try:
        assert session.server is not None and session.endpoint is not None  # a local server, started
        repository = session.server.repository
        assert repository is not None
        deployment = session.deployment(zoo_spec("bert-tiny"), "onnx", "fp32", ServingPolicy(DYNAMIC_BATCHING))
        # The same files under another name, with the runner told to repeat a share of its batches.
        config = session.client.model_config(deployment.model_name)
        config.name = f"{deployment.model_name}-slow"
        config.parameters["repeat_fraction"].string_value = repr(slowdown)
        source = repository / deployment.model_name
        files = {str(p.relative_to(source)): p for p in source.rglob("*") if p.is_file() and p.name != "config.pbtxt"}
        ModelRepository(session.client, repository).place(config.name, config, files)
        base = perf_workload(deployment, load_cases(deployment, 1))
        slow = dataclasses.replace(base, model=config.name)
        yield session.endpoint, {"base": base, "slow": slow}
    finally:
        session.close()


SUBJECTS = {"sleep": sleep_subject, "bert-tiny": bert_tiny_subject}


def run(subject: str, pairs: int, slowdown: float, out: Path) -> None:
    settings = MeasurementSettings()
    run_id = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="detection-"))
    with SUBJECTS[subject](work, slowdown) as (endpoint, workloads), out.open("a") as sink:
        for index in range(pairs):
            for role in ROLES:
                began = time.perf_counter()
                [m] = measure(endpoint, workloads[role], [Concurrency(1)], settings)
                seconds = time.perf_counter() - began
                record = {"run": run_id, "subject": subject, "slowdown": slowdown, "index": index, "role": role}
                sink.write(json.dumps({**record, "seconds": seconds, "measurement": m.to_dict()}) + "\n")
                sink.flush()
                print(
                    f"{index:3} {role}: {m.throughput:6.1f} inf/s, server CPU {m.server_cpu_us or 0:6.0f} us/inf, "
                    f"steal {m.steal_share or 0:.1%}, {len(m.windows)} windows, {seconds:.1f} s"
                )
    print(f"run {run_id}: {2 * pairs} measurements in {time.perf_counter() - started:.0f} s")


def _compare(baseline: dict, new: dict, sigmas: float) -> list[Comparison]:
    entries = measurement_entries(Measurement.from_dict(baseline["measurement"]))
    file = BaselineFile(BaselineKey("bench", "detection"), {}, {"cfg": entries})
    return compare_entries("cfg", measurement_entries(Measurement.from_dict(new["measurement"])), file, sigmas=sigmas)


def _regressed(comparisons: list[Comparison]) -> list[str]:
    return [c.metric for c in comparisons if c.verdict is Verdict.REGRESSION]


def analyze(path: Path, sigmas: float) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_run: dict[tuple[str, float], dict[str, dict[str, list[dict]]]] = {}
    for r in records:
        by_run.setdefault((r["subject"], r["slowdown"]), {}).setdefault(r["run"], {}).setdefault(r["role"], []).append(
            r
        )
    for (subject, slowdown), runs in sorted(by_run.items()):
        # (baseline, new, confirming re-measurement or None) per trial
        aa: list[tuple[dict, dict, dict | None]] = []
        slow: list[tuple[dict, dict, dict | None]] = []
        ratios: dict[str, list[float]] = {"throughput": [], "server_cpu_us": []}
        for roles in runs.values():
            for series in roles.values():  # A/A: consecutive measurements of one model
                for i in range(len(series) - 1):
                    aa.append((series[i], series[i + 1], series[i + 2] if i + 2 < len(series) else None))
            bases, slows = roles.get("base", []), roles.get("slow", [])
            for i in range(min(len(bases), len(slows))):
                slow.append((bases[i], slows[i], slows[i + 1] if i + 1 < len(slows) else None))
                for metric, values in ratios.items():
                    pair = [Measurement.from_dict(r["measurement"]).value(metric) for r in (bases[i], slows[i])]
                    if pair[0] and pair[1]:
                        values.append(pair[1] / pair[0])
        seconds = [r["seconds"] for roles in runs.values() for series in roles.values() for r in series]
        print(
            f"{subject}, slowdown {slowdown:g}, {sigmas:g} sigma: {len(seconds)} measurements in {len(runs)} runs, "
            f"{statistics.mean(seconds):.1f} s each (min {min(seconds):.1f}, max {max(seconds):.1f})"
        )
        for metric, values in ratios.items():
            if len(values) > 1:
                print(
                    f"  slow/base {metric} side by side: median {statistics.median(values):.3f} "
                    f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} pairs)"
                )
        _print("A/A (false alarms)", aa, sigmas)
        _print("slowdown (caught)", slow, sigmas)


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
    run_parser.add_argument("--subject", choices=sorted(SUBJECTS), default="bert-tiny")
    run_parser.add_argument("--pairs", type=int, default=10)
    run_parser.add_argument("--slowdown", type=float, default=0.15, help="share of extra work (see above)")
    run_parser.add_argument("--out", type=Path, required=True)
    analyze_parser = commands.add_parser("analyze")
    analyze_parser.add_argument("path", type=Path)
    analyze_parser.add_argument("--sigmas", type=float, default=NOISE_SIGMAS)
    args = parser.parse_args()
    if args.command == "run":
        run(args.subject, args.pairs, args.slowdown, args.out)
    else:
        analyze(args.path, args.sigmas)


if __name__ == "__main__":
    main()
