"""The one place where the library's errors become pytest outcomes, for the plugin's fixtures and the suites alike:
a variant that cannot run here (Unsupported) skips with its reason; any other error the library raises for the user
(a model the server refuses, a malformed data or baseline file, a check left with nothing to compare) fails the
test with its message and no traceback from inside the library."""

from __future__ import annotations

import contextlib
from typing import Iterator

import pytest

from pytest_triton.errors import TritonPluginError, Unsupported


@contextlib.contextmanager
def triton_outcome() -> Iterator[None]:
    try:
        yield
    except Unsupported as reason:
        pytest.skip(str(reason))
    except TritonPluginError as error:
        pytest.fail(str(error), pytrace=False)
