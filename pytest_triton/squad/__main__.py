"""Command line scorer: `python -m pytest_triton.squad DATA.json PREDICTIONS.json` prints the official JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

from pytest_triton.squad.data import SquadDataset, load_squad
from pytest_triton.squad.metrics import UnknownQuestionIdsError, check_known_ids, evaluate
from pytest_triton.squad.prediction_files import read_na_probs, read_predictions

PROG = "python -m pytest_triton.squad"
USAGE_ERROR = 2


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other bad input."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see {PROG} --help)")


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG, description="Score SQuAD predictions with the official v1.1 or v2.0 semantics (chosen by the data)."
    )
    parser.add_argument("data_file", type=Path, help="SQuAD v1.1 or v2.0 data JSON")
    parser.add_argument("pred_file", type=Path, help="predictions JSON: question id -> answer text")
    parser.add_argument("--na-prob-file", type=Path, help="v2.0 only: question id -> no-answer probability or odds")
    parser.add_argument(
        "--na-prob-thresh", type=float, default=1.0, help="v2.0: predict no answer above this probability (1.0)"
    )
    parser.add_argument("--out-file", type=Path, help="write the JSON here instead of printing it")
    return parser


def _check_ids(dataset: SquadDataset, ids: Iterable[str], what: str, path: Path) -> None:
    """Unknown ids, reported with the file they came from."""
    try:
        check_known_ids(dataset, ids, what)
    except UnknownQuestionIdsError as error:
        raise UnknownQuestionIdsError(f"{path}: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scorer; returns the exit status (bad input exits 2 with one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        dataset = load_squad(args.data_file)
        predictions = read_predictions(args.pred_file)
        _check_ids(dataset, predictions, "prediction", args.pred_file)
        na_probs = read_na_probs(args.na_prob_file) if args.na_prob_file else None
        if na_probs is not None:
            _check_ids(dataset, na_probs, "no-answer probability", args.na_prob_file)
        scores = evaluate(dataset, predictions, na_probs, args.na_prob_thresh)
        if args.out_file:
            args.out_file.write_text(json.dumps(scores.official()), encoding="utf-8")
            return 0
    except OSError as error:
        _fail(f"{error.filename}: {error.strerror}" if error.filename else str(error))
    except ValueError as error:  # SquadFormatError, unknown ids, an na-prob file with v1.1 data
        _fail(str(error))
    # Same layout as the official scripts: v1.1 prints one line, v2.0 prints indented.
    print(json.dumps(scores.official(), indent=2 if dataset.version == "2.0" else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
