"""Hooks a user's conftest.py implements to extend pytest-triton."""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_triton_models(config: pytest.Config) -> list:
    """Return ModelSpecs to check besides the zoo's; every suite picks them up."""
    raise NotImplementedError  # a specification: conftest.py files implement it
