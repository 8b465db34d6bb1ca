"""The baseline file format as a JSON Schema (shipped as schema.json), and errors that point into the file."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from jsonschema import Draft202012Validator

from pytest_triton.errors import TritonPluginError

_SHOWN_ERRORS = 5


class BaselineFileError(TritonPluginError):
    """A baseline file is not valid JSON or not valid against the schema; it is left untouched."""


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(resources.files(__package__).joinpath("schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(parts: Iterable[Any]) -> str:
    """$.entries['sleep-10ms/c1'].throughput: keys that are not plain names are quoted, so any key reads back."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).isidentifier():
            text += f".{part}"
        else:
            text += "[" + json.dumps(str(part)) + "]"
    return text


def validate(document: Any, path: Path, *, before_write: bool = False) -> None:
    """Raise BaselineFileError naming `path` and the JSON path of each problem. `before_write`: the document
    is an update about to be written there (so the fault is in the new data, not in the file)."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return
    lines = [f"  {json_path(e.absolute_path)}: {e.message}" for e in errors[:_SHOWN_ERRORS]]
    if len(errors) > _SHOWN_ERRORS:
        lines.append(f"  ... and {len(errors) - _SHOWN_ERRORS} more")
    if before_write:
        head = f"the update of baseline file {path} does not match the baseline schema (the file is left as it was):"
        tail = ""
    else:
        head = f"baseline file {path} does not match the baseline schema:"
        tail = "\nFix or delete the file; it is not overwritten while it is invalid."
    raise BaselineFileError(head + "\n" + "\n".join(lines) + tail)


def parse(text: str, path: Path) -> Any:
    """The JSON document in `text`, or BaselineFileError naming the file, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineFileError(
            f"baseline file {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "fix or delete it; it is not overwritten while it is invalid"
        ) from None
