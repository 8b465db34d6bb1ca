"""How the accuracy suite evaluates, from the --squad-* and --triton-accuracy-tolerance options (no heavy imports:
the plugin builds it before anything is served)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pytest_triton.errors import TritonPluginError

FP16_POINTS = 1.0


@dataclass(frozen=True)
class AccuracyPlan:
    squad_file: Path | None
    max_seq_length: int | None  # None: 384, or what the model's position embeddings allow
    doc_stride: int | None
    max_query_length: int | None
    fp16_points: float = FP16_POINTS
    batch_size: int = 4
    concurrency: int = 4

    @classmethod
    def from_values(cls, get: Callable[[str], object]) -> "AccuracyPlan":
        def number(option: str, dest: str, kind: type = int) -> object:
            value = get(dest)
            if value in (None, ""):
                return None
            try:
                parsed = kind(value)
            except ValueError:
                parsed = -1
            if parsed <= 0:
                raise TritonPluginError(f"--{option}={value!r}: expected a positive number")
            return parsed

        squad_file = get("squad_file")
        if squad_file and not Path(str(squad_file)).is_file():
            raise TritonPluginError(f"--squad-file={squad_file}: no such file; give a SQuAD v1.1 or v2.0 JSON file")
        tolerance = number("triton-accuracy-tolerance", "triton_accuracy_tolerance", float)
        return cls(
            squad_file=Path(str(squad_file)) if squad_file else None,
            max_seq_length=number("squad-max-seq-length", "squad_max_seq_length"),  # type: ignore[arg-type]
            doc_stride=number("squad-doc-stride", "squad_doc_stride"),  # type: ignore[arg-type]
            max_query_length=number("squad-max-query-length", "squad_max_query_length"),  # type: ignore[arg-type]
            fp16_points=FP16_POINTS if tolerance is None else tolerance,  # type: ignore[arg-type]
        )
