"""How the accuracy suite evaluates: which SQuAD file or sets, feature geometry, which image folder and class list,
and the fp16 tolerance in points (no heavy imports: the plugin builds it before anything is served)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class AccuracyPlan:
    squad_file: Path | None
    max_seq_length: int | None  # None: 384, or what the model's position embeddings allow
    doc_stride: int | None
    max_query_length: int | None
    image_folder: Path | None = None  # None: held-out synthetic images
    image_classes: Path | None = None  # None: the image folder's class folders, sorted
    fp16_points: float = 1.0
    batch_size: int = 4
    concurrency: int = 4

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> "AccuracyPlan":
        """From the checked option values of options.read_options."""
        return cls(
            squad_file=values["squad_file"],
            max_seq_length=values["squad_max_seq_length"],
            doc_stride=values["squad_doc_stride"],
            max_query_length=values["squad_max_query_length"],
            image_folder=values["triton_image_folder"],
            image_classes=values["triton_image_classes"],
            fp16_points=values["triton_accuracy_tolerance"],
        )
