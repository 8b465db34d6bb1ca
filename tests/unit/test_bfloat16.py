"""bf16: computed in bfloat16 behind float32 inputs and outputs, asked for rather than checked by default."""

from __future__ import annotations

import pytest
import torch

from pytest_triton.errors import Unsupported
from pytest_triton.export.bfloat16 import Bfloat16Compute
from pytest_triton.export.exporters import TorchScriptExporter
from pytest_triton.kinds import DEFAULT_PRECISIONS, PRECISIONS


class _Scale(torch.nn.Module):
    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * 3.0, ids + 1


def test_float_tensors_are_float32_outside_and_bfloat16_inside():
    x = torch.linspace(-2, 2, 7)
    ids = torch.arange(3)
    scaled, shifted = Bfloat16Compute(_Scale())(x, ids)
    assert scaled.dtype == torch.float32 and shifted.dtype == torch.int64
    assert torch.equal(scaled, (x.bfloat16() * 3.0).float()) and not torch.equal(scaled, x * 3.0)
    assert torch.equal(shifted, ids + 1)


def test_bf16_is_a_precision_to_ask_for():
    assert "bf16" in PRECISIONS and "bf16" not in DEFAULT_PRECISIONS


def test_only_tracing_takes_the_casts():
    TorchScriptExporter(trace=True).check_supported("bf16", "cpu")
    with pytest.raises(Unsupported, match="its bf16 TorchScript export is ts-trace"):
        TorchScriptExporter(trace=False).check_supported("bf16", "cpu")
