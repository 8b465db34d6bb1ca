"""The one place where the library's errors become pytest outcomes, for the plugin's fixtures and the suites alike:
a variant that cannot run here (Unsupported) skips with its reason; any other error the library raises for the user
(a model the server refuses, a malformed data or baseline file, a check left with nothing to compare) fails the
test with its message and no traceback from inside the library."""

from __future__ import annotations

import contextlib
from typing import Iterator

import pytest

from pytest_triton.errors import Advised, TritonPluginError, Unsupported
from pytest_triton.options import OPTIONS


@contextlib.contextmanager
def triton_outcome() -> Iterator[None]:
    try:
        yield
    except Unsupported as reason:
        pytest.skip(advised(reason))
    except TritonPluginError as error:
        pytest.fail(advised(error), pytrace=False)


def advised(error: Advised) -> str:
    """The message with the command-line flags of the settings its remedy changes."""
    flags = [f"--{option.flag}" for option in OPTIONS if option.dest in error.options]
    return f"{error} ({', '.join(flags)})" if flags else str(error)
