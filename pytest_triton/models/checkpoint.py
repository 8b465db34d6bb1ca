"""Loading real weights (a checkpoint) into a zoo model, with errors that say what is wrong."""

from __future__ import annotations

from pathlib import Path

import torch

from pytest_triton.errors import TritonPluginError

_OPTION = ("triton_checkpoint",)


def load_state_dict(path: Path, module: torch.nn.Module, model_name: str) -> None:
    """Load a `torch.save`d state dict (or {"model": state_dict}) into `module`, strictly."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file; all mean the same to the user
        raise TritonPluginError(
            f"the checkpoint for {model_name}: cannot read {path} as a PyTorch state dict ({error}); "
            "give a file written by torch.save(model.state_dict())",
            options=_OPTION,
        ) from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise TritonPluginError(
            f"the checkpoint {path}: expected a state dict, found {type(state).__name__}", options=_OPTION
        )
    state = {key.removeprefix("module."): value for key, value in state.items()}
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as error:  # right keys, wrong shapes (a fine-tune with another head, say)
        raise TritonPluginError(
            f"the checkpoint {path} does not fit {model_name}: {str(error).strip().splitlines()[-1]}",
            options=_OPTION,
        ) from None
    if result.missing_keys or result.unexpected_keys:
        raise TritonPluginError(
            f"the checkpoint {path} does not fit {model_name}: "
            f"missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]} "
            f"({len(result.missing_keys)} missing, {len(result.unexpected_keys)} unexpected keys in all)",
            options=_OPTION,
        )
