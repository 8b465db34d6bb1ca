"""Where a run's baseline deployment is: light, as the run's settings hold it (repository.baseline_deployment
loads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from pytest_triton.server.endpoint import RemoteAddress


@dataclass(frozen=True)
class BaselineSource:
    """Where the baseline deployment is: a directory or a server's address. `names`: candidate model or model
    (spec) name -> the baseline's model name, where the names differ."""

    directory: Path | None = None
    address: RemoteAddress | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.directory is None) == (self.address is None):
            raise ValueError("a baseline deployment is a directory or a server's address, one of them")

    @property
    def label(self) -> str:
        return str(self.directory) if self.directory is not None else str(self.address)
