"""Compare two runs' reports: `python -m pytest_triton.report.compare OLD NEW`.

OLD and NEW are report.json files or the directories that hold them (--triton-report); `--history DIR` compares
the last report kept there (--triton-history) with the one before it from the same hardware. The older run's
figures play the baseline, judged as baselines are (the default tolerances or --tolerance METRIC=FRACTION, and
both runs' measured noise), but with no second measurement to confirm a regression: expect more false alarms than
the suite gives. With --fail-on-regression the command exits 1 when a figure regressed or a point of OLD is missing
from NEW, so that a CI job can gate on two kept runs without baselines in git.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Mapping, Sequence

from pytest_triton.baselines.entry import BaselineFile, BaselineKey
from pytest_triton.baselines.verdict import Comparison, compare_entries
from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import baseline_id
from pytest_triton.perf.baseline_entries import DEFAULT_TOLERANCES, measurement_entries
from pytest_triton.perf.results import Measurement
from pytest_triton.report.document import read_measurements
from pytest_triton.report.history import kept_reports
from pytest_triton.report.summary import summary_lines


def compare_reports(
    old: Mapping[str, Sequence[Measurement]],
    new: Mapping[str, Sequence[Measurement]],
    tolerances: Mapping[str, float] | None = None,
) -> tuple[list[Comparison], list[str]]:
    """(comparisons of every point of `new` with the same point of `old`, the points only `old` measured)."""
    points = {
        baseline_id(config, m.load.label): measurement_entries(m, tolerances=tolerances)
        for config, sweep in old.items()
        for m in sweep
    }
    earlier = BaselineFile(BaselineKey("report", "perf"), {}, points)
    comparisons: list[Comparison] = []
    seen = set()
    for config, sweep in new.items():
        for m in sweep:
            point = baseline_id(config, m.load.label)
            seen.add(point)
            comparisons += compare_entries(point, measurement_entries(m, tolerances=tolerances), earlier)
    return comparisons, sorted(set(points) - seen)


def _tolerance(text: str) -> tuple[str, float]:
    metric, _, value = text.partition("=")
    if metric not in DEFAULT_TOLERANCES:
        raise argparse.ArgumentTypeError(f"unknown metric {metric!r}; known: {', '.join(DEFAULT_TOLERANCES)}")
    try:
        fraction = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not METRIC=FRACTION (e.g. throughput=0.1)") from None
    if fraction < 0:
        raise argparse.ArgumentTypeError(f"tolerance {text!r} must not be negative")
    return metric, fraction


def _reports(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[Path, Path]:
    if args.history is not None:
        if args.reports:
            parser.error("give two reports or --history DIR, not both")
        kept = kept_reports(args.history)
        if not kept:
            parser.error(f"--history {args.history} holds no report")
        hardware = kept[-1].stem.split("-", 1)[-1]  # <time>-<hardware>.json
        same = [path for path in kept[:-1] if path.stem.split("-", 1)[-1] == hardware]
        if not same:
            parser.error(f"--history {args.history} holds no earlier report from {hardware} than {kept[-1].name}")
        return same[-1], kept[-1]
    if len(args.reports) != 2:
        parser.error("give two reports (OLD NEW) or --history DIR")
    return args.reports[0], args.reports[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_triton.report.compare", description=__doc__.split("\n")[0])
    parser.add_argument("reports", nargs="*", type=Path, metavar="REPORT", help="OLD and NEW report.json or dirs")
    parser.add_argument("--history", type=Path, help="compare the last two reports kept in this directory")
    parser.add_argument("--tolerance", type=_tolerance, action="append", default=[], help="e.g. throughput=0.1")
    parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a figure regressed")
    args = parser.parse_args(argv)
    old_path, new_path = _reports(args, parser)
    try:
        comparisons, gone = compare_reports(
            read_measurements(old_path), read_measurements(new_path), dict(args.tolerance)
        )
    except TritonPluginError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"comparing {new_path} against {old_path}")
    for line in summary_lines(comparisons, title="triton compare"):
        print(line)
    for point in gone:
        print(f"{point}: measured in {old_path} only")
    return 1 if args.fail_on_regression and (gone or any(c.failed for c in comparisons)) else 0


if __name__ == "__main__":
    sys.exit(main())
