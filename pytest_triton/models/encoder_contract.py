"""FasterTransformer's BERT encoder contract as a server shows it: the tensor names a deployment uses for it. No torch:
a served model is recognised before anything is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class EncoderNames:
    """What a deployment calls the contract's three tensors."""

    hidden: str = "input_hidden_state"  # [batch, seq, hidden] float in
    lengths: str = "sequence_length"  # [batch, 1] int32 in
    output: str = "output_hidden_state"  # [batch, seq, hidden] float out


CONTRACT = EncoderNames()
# FasterTransformer's BERT backend reads the lengths as `sequence_lengths` (its all_models/bert config.pbtxt).
FT_BACKEND = EncoderNames(lengths="sequence_lengths")


def served_names(metadata: Mapping[str, Any]) -> EncoderNames | None:
    """The contract's names where a served model's metadata shows exactly the contract's inputs (under either
    name for the lengths) and its output; None for any other model."""
    inputs = {t.get("name") for t in metadata.get("inputs", [])}
    outputs = {t.get("name") for t in metadata.get("outputs", [])}
    for names in (CONTRACT, FT_BACKEND):
        if inputs == {names.hidden, names.lengths} and names.output in outputs:
            return names
    return None


def served_hidden_size(metadata: Mapping[str, Any], names: EncoderNames) -> int | None:
    """The hidden size the served input declares; None where it is variable (FasterTransformer's are)."""
    hidden = next(t for t in metadata.get("inputs", []) if t.get("name") == names.hidden)
    dims = [int(d) for d in hidden.get("shape", [])]
    return dims[-1] if dims and dims[-1] > 0 else None
