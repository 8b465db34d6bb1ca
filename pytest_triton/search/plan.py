"""What a config search is asked for: mode, objective, constraints, bounds of the space, time budget and where it
writes. Plain values, built from options before anything is served."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.perf.limits import Limit
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.search.objective import Objective, parse_objective
from pytest_triton.search.strategy import STRATEGIES


@dataclass(frozen=True)
class SearchPlan:
    mode: str  # a STRATEGIES name, or "off": no search, the stored recommendations are checked
    directory: Path  # <directory>/<model>/: checkpoint, report, model repository of the top configurations
    objective: Objective = parse_objective("throughput")
    constraints: tuple[Limit, ...] = ()
    max_batch_size: int | None = None  # None: the export's
    max_instances: int = 2
    queue_delays_us: tuple[int, ...] = (100,)
    max_concurrency: int = 16
    budget_s: float = 260.0  # per model: two models and the last configuration each started fit in 10 minutes
    top: int = 3  # configurations written out
    accuracy_points: float = 1.0  # a QA model's EM/F1 may drop this much from the fp32 model
    settings: MeasurementSettings = MeasurementSettings()

    def __post_init__(self) -> None:
        if self.mode not in ("off", *STRATEGIES):
            raise ValueError(f"search mode {self.mode!r}; valid choices: off, {', '.join(STRATEGIES)}")
        for name in ("max_instances", "max_concurrency", "top"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.budget_s <= 0:
            raise ValueError(f"the time budget must be positive, not {self.budget_s} s")

    @classmethod
    def from_options(cls, values: Mapping[str, Any], settings: MeasurementSettings, directory: Path) -> "SearchPlan":
        """`directory` where --triton-search-dir is not given."""
        return cls(
            mode=values["triton_search"],
            directory=values["triton_search_dir"] or directory,
            objective=values["triton_search_objective"],
            constraints=values["triton_search_constraints"] or (),
            max_batch_size=values["triton_search_max_batch_size"],
            max_instances=values["triton_search_max_instances"],
            queue_delays_us=values["triton_search_queue_delays"],
            max_concurrency=values["triton_search_max_concurrency"],
            budget_s=values["triton_search_budget"],
            top=values["triton_search_top"],
            accuracy_points=values["triton_accuracy_tolerance"],
            settings=settings,
        )
