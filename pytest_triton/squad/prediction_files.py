"""Prediction files in the official formats: predictions.json, nbest_predictions.json, null_odds.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_triton.squad.data import SquadFormatError, describe_json, read_json

if TYPE_CHECKING:  # the scoring CLI reads prediction files and should not pay for importing numpy
    from pytest_triton.squad.postprocess import Prediction

PREDICTIONS_FILE = "predictions.json"
NBEST_FILE = "nbest_predictions.json"
NULL_ODDS_FILE = "null_odds.json"


def official_predictions(predictions: Sequence[Prediction]) -> dict[str, str]:
    """What predictions.json holds and the official scorers read: question id -> answer text."""
    return {p.id: p.text for p in predictions}


def write_predictions(predictions: Sequence[Prediction], out_dir: Path | str) -> list[Path]:
    """Write predictions.json and nbest_predictions.json (and null_odds.json for v2.0) into out_dir; return paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        PREDICTIONS_FILE: official_predictions(predictions),
        NBEST_FILE: {p.id: [asdict(entry) for entry in p.nbest] for p in predictions},
    }
    if any(p.null_score_diff is not None for p in predictions):
        files[NULL_ODDS_FILE] = {p.id: p.null_score_diff for p in predictions}
    written = []
    for name, content in files.items():
        path = out_dir / name
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written


def read_predictions(path: Path | str) -> dict[str, str]:
    """Read a predictions file: one JSON object mapping question id to answer text."""
    path = Path(path)
    return _string_keyed(path, read_json(path), str, "an answer string")


def read_na_probs(path: Path | str) -> dict[str, float]:
    """Read a no-answer probability (or null odds) file: one JSON object mapping question id to a number."""
    path = Path(path)
    values = _string_keyed(path, read_json(path), (int, float), "a number")
    return {qid: float(value) for qid, value in values.items()}


def _string_keyed(path: Path, raw: object, kind: type | tuple[type, ...], what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SquadFormatError(
            f"{path}: top level: expected an object mapping each question id to {what}, got {describe_json(raw)}"
        )
    for qid, value in raw.items():
        if not isinstance(value, kind) or isinstance(value, bool):
            raise SquadFormatError(f"{path}: [{qid!r}]: expected {what}, got {describe_json(value)}")
    return raw
