"""Test tiers. A test that starts a tritonserver is marked `server` (every test in tests/e2e and tests/server is,
by folder; elsewhere a module says so with `pytestmark`), and the fast tier leaves those out:
`./dev fast` runs in well under a minute. A test without the mark that starts a server fails
here, saying so, so the fast tier stays fast and tests/unit stays free of servers."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pytest

SERVER_FOLDERS = ("e2e", "server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.path).parent.name in SERVER_FOLDERS:
            item.add_marker("server")


def _refuse_to_start(*args: object, **kwargs: object) -> None:
    raise AssertionError(
        "this test starts a tritonserver but is not marked `server`: mark it (pytestmark = pytest.mark.server) or "
        "move it to tests/server, so that the fast tier stays free of servers"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # Setup too: a module-scoped server fixture starts while its module's first test is set up.
    with _servers_only_if_marked(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _servers_only_if_marked(item):
        return (yield)


@contextlib.contextmanager
def _servers_only_if_marked(item: pytest.Item) -> Iterator[None]:
    if item.get_closest_marker("server") is not None:
        yield
        return
    from pytest_triton.server.local import LocalServer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalServer, "start", _refuse_to_start)
        yield
