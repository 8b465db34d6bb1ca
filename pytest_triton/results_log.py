"""Results that outlive a test: each process appends JSON lines to a file of its own in one directory,
and the process that writes the terminal summary and the report reads them all (xdist workers included)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


class ResultsLog:
    def __init__(self, directory: Path, writer: str) -> None:
        self.directory = directory
        self._path = directory / f"{writer}-{os.getpid()}.jsonl"

    def append(self, kind: str, record: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, **record}, sort_keys=True, default=str) + "\n")

    @property
    def empty(self) -> bool:
        """No process has written anything (no test asked for Triton)."""
        return not any(self.directory.glob("*.jsonl"))

    def read(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every record of `kind` from every writer, in file order."""
        for path in sorted(self.directory.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record.pop("kind") == kind:
                    yield record
