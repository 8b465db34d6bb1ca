"""Quick against brute: what the hill-climbing search measures and reaches, against the whole grid.

Per model, three searches with the plugin's default options (the library alone, no pytest):
1. `quick`, fresh: its wall time, configurations measured and recommendation, as `pytest --triton-search=quick`
   would take them on this machine.
2. `brute`, fresh: the whole grid, and the best configuration there is.
3. `quick` replayed over brute's checkpoint: the same walk decided on the same figures, so that its share of the
   grid and the objective it reaches (its recommendation's throughput over brute's best) are the strategy's own,
   free of the noise between two measurements of one configuration.

    .venv/bin/python benchmarks/search_quick_vs_brute.py --out /tmp/search-bench
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
from pathlib import Path

from pytest_triton.checks.accuracy import AccuracyRun
from pytest_triton.checks.accuracy_plan import AccuracyPlan
from pytest_triton.models.zoo import ZOO, zoo_spec
from pytest_triton.options import read_options
from pytest_triton.perf.plan import PerfPlan
from pytest_triton.search.plan import SearchPlan
from pytest_triton.search.run import SearchOutcome, run_search
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings


def _best(outcome: SearchOutcome) -> float:
    """The recommendation's throughput; 0 where nothing is recommended."""
    recommended = outcome.recommended
    return recommended.point.throughput if recommended and recommended.point else 0.0


def _line(name: str, outcome: SearchOutcome) -> str:
    recommended = outcome.recommended
    figures = f"{recommended.result.candidate.id} {_best(outcome):.1f} inf/s" if recommended else "none"
    return (
        f"{outcome.model:>14} {name:>15}: measured {outcome.measured:>2}, from checkpoint {outcome.resumed:>2}, "
        f"grid {outcome.grid_size}, {outcome.wall_s:6.1f} s; recommended {figures}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["bert-tiny", "resnext-small"])
    parser.add_argument("--out", type=Path, required=True, help="where the three searches write, per model")
    parser.add_argument("--cache-dir", type=Path, help="export cache; without it, a temporary one")
    args = parser.parse_args()
    values = read_options(lambda dest: None, tuple(ZOO))  # every option at its default, as a plain pytest run
    settings = Settings.from_options(values)
    measured = PerfPlan.from_options(values).settings
    base = SearchPlan.from_options({**values, "triton_search": "quick"}, measured, args.out / "quick")
    work = Path(tempfile.mkdtemp(prefix="search-bench-"))
    session = TritonSession(settings, work_dir=work, cache_dir=args.cache_dir or work / "exports")
    session.start()
    accuracy = AccuracyRun(AccuracyPlan.from_options(values), work / "squad", settings.device)
    lines = []
    try:
        for name in args.models:
            spec = zoo_spec(name)
            quick = run_search(session, spec, base, accuracy, print)
            lines.append(_line("quick", quick))
            print(lines[-1])
            brute_plan = dataclasses.replace(base, mode="brute", directory=args.out / "brute", budget_s=7200)
            brute = run_search(session, spec, brute_plan, accuracy, print)
            lines.append(_line("brute", brute))
            print(lines[-1])
            replay_dir = args.out / "replay" / name
            replay_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(args.out / "brute" / name / "checkpoint.jsonl", replay_dir / "checkpoint.jsonl")
            replay = run_search(session, spec, dataclasses.replace(base, directory=args.out / "replay"), accuracy)
            lines.append(_line("quick (replay)", replay))
            best = _best(brute) or float("nan")
            lines.append(
                f"{name:>14}: quick visits {replay.resumed} of {replay.grid_size} configurations "
                f"({replay.resumed / replay.grid_size:.0%}) and reaches {_best(replay) / best:.1%} of brute's best; "
                f"fresh, quick reached {_best(quick) / best:.1%}"
            )
    finally:
        session.close()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
