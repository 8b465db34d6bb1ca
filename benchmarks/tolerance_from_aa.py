"""How far do this machine's perf figures move between runs with nothing changed, and which tolerances follow?

Record baselines, then run the perf suite again a few times, unchanged, each with its own report:

    pytest suites/test_perf.py --update-baselines
    for i in 1 2 3; do pytest suites/test_perf.py --triton-report=aa/r$i; done
    .venv/bin/python benchmarks/tolerance_from_aa.py aa/r1 aa/r2 aa/r3 [--apply baselines/HARDWARE/perf.json]

One recording can fall in a quiet or a busy spell, so each figure's reference is the median of the recorded
baseline and the runs. Per metric it prints the false alarms the stored baselines gave, how far figures lay
from that median in the worse direction (95th percentile and maximum over every config and run), and a
tolerance that would have covered them: the maximum times --margin, rounded up to 5%, never below the default.
--apply writes the medians as values and those tolerances into the baseline file (validated, under the
store's lock); later --update-baselines runs keep the tolerances.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from pytest_triton.baselines import BaselineFile, BaselineFileError, BaselineKey, BaselineStore
from pytest_triton.perf.baseline_entries import DEFAULT_TOLERANCES
from pytest_triton.perf.cold_start import COLD_TOLERANCES

# Every metric a perf baseline keeps: a measurement's, and a cold start's (under <config>/cold).
TOLERANCES = {**DEFAULT_TOLERANCES, **COLD_TOLERANCES}


def observed(report_dirs: list[Path]) -> tuple[dict[tuple[str, str], list[float]], dict[str, str], dict[str, int]]:
    """(config, metric) -> the baseline value then each run's; metric -> direction; metric -> regressions."""
    values: dict[tuple[str, str], list[float]] = {}
    directions: dict[str, str] = {}
    alarms: dict[str, int] = defaultdict(int)
    for directory in report_dirs:
        try:
            report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SystemExit(
                f"{directory}: no readable report.json ({error}); give --triton-report directories"
            ) from None
        for comparison in report["comparisons"]:
            if comparison["baseline"] is None:
                continue  # missing: nothing to move from
            key = (comparison["config"], comparison["metric"])
            values.setdefault(key, [comparison["baseline"]["value"]]).append(comparison["measured"]["value"])
            directions[comparison["metric"]] = comparison["measured"]["direction"]
            alarms[comparison["metric"]] += comparison["verdict"] == "regression"
    return values, directions, alarms


def worse_moves(values: dict[tuple[str, str], list[float]], directions: dict[str, str]) -> dict[str, list[float]]:
    """metric -> each figure's relative distance from its median, positive where it is worse."""
    moves: dict[str, list[float]] = defaultdict(list)
    for (_, metric), figures in values.items():
        median = float(np.median(figures))
        sign = -1.0 if directions[metric] == "higher" else 1.0
        moves[metric] += [sign * (figure - median) / median for figure in figures]
    return moves


def suggested(largest: float, metric: str, margin: float) -> float:
    return max(TOLERANCES[metric], math.ceil(max(largest, 0.0) * margin * 20) / 20)


def recentred(
    current: BaselineFile, values: dict[tuple[str, str], list[float]], tolerances: dict[str, float]
) -> BaselineFile:
    medians = {key: float(np.median(figures)) for key, figures in values.items()}
    return current.map_entries(
        lambda config, metric, entry: replace(entry, value=medians.get((config, metric), entry.value))
    ).with_tolerances(tolerances)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="--triton-report directories of unchanged runs")
    parser.add_argument("--margin", type=float, default=1.25)
    parser.add_argument("--apply", type=Path, metavar="BASELINE_FILE", help="write medians and tolerances there")
    args = parser.parse_args()

    values, directions, alarms = observed(args.reports)
    moves = worse_moves(values, directions)
    print(f"{len(args.reports)} runs against the recorded baseline; worse-direction distance from each figure's median")
    print(f"{'metric':12} {'alarms':>6} {'n':>4} {'p95':>7} {'max':>7} {'suggested':>9}")
    tolerances = {}
    for metric in TOLERANCES:
        distances = np.array(moves.get(metric, []))
        if not len(distances):
            continue
        tolerances[metric] = suggested(float(distances.max()), metric, args.margin)
        print(
            f"{metric:12} {alarms[metric]:>6} {len(distances):>4} {np.percentile(distances, 95):>+7.1%} "
            f"{distances.max():>+7.1%} {tolerances[metric]:>9.0%}"
        )
    if args.apply:
        path = args.apply.resolve()
        store = BaselineStore(path.parent.parent)
        try:
            store.modify(
                BaselineKey(path.parent.name, path.stem), lambda current: recentred(current, values, tolerances)
            )
        except BaselineFileError as error:
            raise SystemExit(str(error)) from None
        print(f"medians and tolerances written into {args.apply}")


if __name__ == "__main__":
    main()
