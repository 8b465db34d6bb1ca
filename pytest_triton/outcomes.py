"""The one place where the library's errors and verdicts become pytest outcomes, for the plugin's fixtures and the
suites alike: a variant that cannot run here (Unsupported) skips with its reason; any other error the library raises
for the user (a model the server refuses, a wrong spec, a failed export, a malformed data or baseline file) fails the
test with its message alone, without the test's source or fixture values, and so does a check's verdict.

One cause fails one test: an error raised again for the next test (a model whose export failed, asked for by every
test of that model) skips there, pointing at the test that failed on it."""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass
from typing import Callable

import pytest

from pytest_triton.errors import Advised, CheckFailed, ModelLoadError, TritonPluginError, Unsupported
from pytest_triton.options import OPTIONS


@dataclass(frozen=True)
class _Explained:
    """What a failure this module raised came from: the library's error (None for a check's verdict), and whether the
    server's log may say more."""

    error: TritonPluginError | None
    server_log: bool


# The failures this module raised...
_RAISED: weakref.WeakKeyDictionary[BaseException, _Explained] = weakref.WeakKeyDictionary()
# ...and the errors that failed a test, with that test's node id (the plugin's report hook notes them).
_FAILED_IN: weakref.WeakKeyDictionary[BaseException, str] = weakref.WeakKeyDictionary()


def _failure(message: str, error: TritonPluginError | None, server_log: bool) -> BaseException:
    """pytest's failure with `message` alone: no test source, no fixture values (it says all there is to say)."""
    failure = pytest.fail.Exception(message, pytrace=False)
    _RAISED[failure] = _Explained(error, server_log)
    return failure


class triton_outcome(contextlib.AbstractContextManager):
    """`with triton_outcome(): ...` around library calls in a test or fixture."""

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: object) -> None:
        __tracebackhide__ = True  # pytest then reports the skip at the test's line, not here
        # `from None`: the outcome replaces the library's error, whose message it carries.
        if isinstance(error, Unsupported):
            raise pytest.skip.Exception(advised(error)) from None
        if isinstance(error, TritonPluginError):
            where = _FAILED_IN.get(error)
            if where is not None:
                raise pytest.skip.Exception(f"see the failure of {where}: {_head(str(error))}") from None
            # A model the server refused to load, or a request it refused: its log may say why.
            raise _failure(advised(error), error, isinstance(error, (CheckFailed, ModelLoadError))) from None


def triton_verdict(ok: bool, report: Callable[[], str], *, server_log: bool = False) -> None:
    """Fail the test with a check's report where the check is not ok: the report names what is wrong, so the test's
    source and its fixture values would only push it down. `server_log`: the server's log may say more (a check of
    how the server answers requests), so it goes beside the report."""
    __tracebackhide__ = True
    if not ok:
        raise _failure(report(), None, server_log)


def note_failure(failed: BaseException | None, nodeid: str) -> None:
    """Remember the test a library error failed (the first, where several met it)."""
    explained = _explained(failed)
    if explained is not None and explained.error is not None:
        _FAILED_IN.setdefault(explained.error, nodeid)


def server_log_helps(failed: BaseException | None) -> bool:
    """Whether the server's log belongs beside a test's failure: beside a model the server refused to load, a request
    it refused or a check of how it answers, and a failure the library did not explain; not beside the library's
    other verdicts and errors, which say what is wrong (a spec, an export, a regression, a file)."""
    explained = _explained(failed)
    return explained is None or explained.server_log


def _explained(failed: BaseException | None) -> _Explained | None:
    # `in` first: a built-in exception (an AssertionError of the test's own) takes no weak reference, which get() needs.
    return _RAISED[failed] if failed is not None and failed in _RAISED else None


def advised(error: Advised) -> str:
    """The message with the command-line flags of the settings its remedy changes."""
    flags = [f"--{option.flag}" for option in OPTIONS if option.dest in error.options]
    return f"{error} ({', '.join(flags)})" if flags else str(error)


def _head(text: str, most: int = 100) -> str:
    """The start of a message, to its first ';' (where the remedy begins) and at most `most` characters."""
    head = (text.strip().splitlines() or [""])[0].split(";")[0]
    return head if len(head) <= most else head[: most - 3] + "..."
