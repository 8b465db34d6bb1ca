"""bf16 artifacts: the model computes in bfloat16 behind float32 inputs and outputs. numpy has no bfloat16 (the
clients take it only through ml_dtypes), so the references, samples and checks stay in float32: a chosen interface.
Served models with BF16 tensors of their own (a FasterTransformer deployment at data_type bf16) are sent and read in
ml_dtypes' bfloat16 (models/served.py)."""

from __future__ import annotations

import torch


class Bfloat16Compute(torch.nn.Module):
    """`module` in bfloat16, its float inputs cast down on the way in and its float outputs cast up on the way out."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module.bfloat16()

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.module(*(x.bfloat16() if x.is_floating_point() else x for x in inputs))
        outputs = out if isinstance(out, tuple) else (out,)
        return tuple(o.float() if o.is_floating_point() else o for o in outputs)
