"""A search's checkpoint: one JSON line per configuration measured (and per format and precision whose accuracy
was checked), appended and flushed as each completes, so that after Ctrl-C, a crash or a killed server the same
search measures only what is missing.

Each line carries the key of what makes figures comparable (machine, measurement settings, weights); lines under
another key are kept in the file but not reused."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_triton.atomic_write import write_text_atomic
from pytest_triton.errors import TritonPluginError
from pytest_triton.search.results import ConfigResult


class CheckpointError(TritonPluginError):
    """A checkpoint file that cannot be read back."""


@dataclass
class Checkpoint:
    path: Path
    key: str
    configs: dict[str, ConfigResult] = field(default_factory=dict)  # by candidate id
    accuracy: dict[str, str] = field(default_factory=dict)  # "format-precision" -> problem ("" where it kept it)
    other_keys: int = 0  # lines measured under another key: not reused
    torn: bool = False  # the last line was cut short (the process died while writing it), and is dropped

    @classmethod
    def open(cls, path: Path, key: str) -> "Checkpoint":
        checkpoint = cls(path, key)
        if not path.exists():
            return checkpoint
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise CheckpointError(f"cannot read the search checkpoint {path}: {error}") from None
        lines = text.splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                checkpoint._take(record)
            except (ValueError, KeyError, TypeError) as error:
                if number == len(lines) and not text.endswith("\n"):  # cut short by a kill: measured again
                    checkpoint.torn = True
                    write_text_atomic(path, "".join(f"{kept}\n" for kept in lines[:-1]))
                    continue
                raise CheckpointError(
                    f"line {number} of the search checkpoint {path} is malformed ({error}); delete that line to "
                    "measure its configuration again, or the file to start the search afresh"
                ) from None
        return checkpoint

    def _take(self, record: dict[str, Any]) -> None:
        if record["key"] != self.key:
            self.other_keys += 1
        elif record["kind"] == "config":
            result = ConfigResult.from_dict(record["result"])
            self.configs[result.candidate.id] = result
        elif record["kind"] == "accuracy":
            self.accuracy[str(record["variant"])] = str(record["problem"])
        else:
            raise ValueError(f"unknown kind {record['kind']!r}")

    def add_config(self, result: ConfigResult) -> None:
        self.configs[result.candidate.id] = result
        self._append({"kind": "config", "key": self.key, "result": result.to_dict()})

    def add_accuracy(self, variant: str, problem: str) -> None:
        self.accuracy[variant] = problem
        self._append({"kind": "accuracy", "key": self.key, "variant": variant, "problem": problem})

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.path.open("a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
