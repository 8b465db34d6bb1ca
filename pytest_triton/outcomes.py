"""The one place where the library's errors become pytest outcomes, for the plugin's fixtures and the suites alike:
a variant that cannot run here (Unsupported) skips with its reason; any other error the library raises for the user
(a model the server refuses, a malformed data or baseline file, a check left with nothing to compare) fails the
test with its message and no traceback from inside the library."""

from __future__ import annotations

import contextlib

import pytest

from pytest_triton.errors import Advised, TritonPluginError, Unsupported
from pytest_triton.options import OPTIONS


class triton_outcome(contextlib.AbstractContextManager):
    """`with triton_outcome(): ...` around library calls in a test or fixture."""

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: object) -> None:
        __tracebackhide__ = True  # pytest then reports the skip at the test's line, not here
        # `from None`: the outcome replaces the library's error, whose message it carries.
        if isinstance(error, Unsupported):
            raise pytest.skip.Exception(advised(error)) from None
        if isinstance(error, TritonPluginError):
            raise pytest.fail.Exception(advised(error), pytrace=False) from None


def advised(error: Advised) -> str:
    """The message with the command-line flags of the settings its remedy changes."""
    flags = [f"--{option.flag}" for option in OPTIONS if option.dest in error.options]
    return f"{error} ({', '.join(flags)})" if flags else str(error)
