"""Test tiers, and turns for measurements.

A test that starts a tritonserver is marked `server` (every test in tests/e2e and tests/server is, by folder;
elsewhere a module says so with `pytestmark`), and the fast tier leaves those out: `./dev fast` runs in well under
a minute. A test without the mark that starts a server fails here, saying so, so the fast tier stays fast and
tests/unit stays free of servers.

A test marked `measures` checks speed against a known answer. Under xdist it takes its turn: it runs while no
other test runs on another worker (they share a lock, it holds it alone), since a figure measured beside an export
or another server on these two cores measures the neighbour. Tests without a server count too: beside them, the
sleep model's known answers failed twice (42 inf/s against 50 in one CI run; both protocols in another run)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

import pytest

from pytest_triton.turns import Turns

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


_TURNS: list[Turns] = []  # this worker's, made at its first test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # Setup and teardown included: a module-scoped server starts and stops inside its tests' protocols.
    # xdist gives each worker a base temp directory inside the run's, which pytest cleans up like any other.
    worker_temp = item.config.option.basetemp if os.environ.get("PYTEST_XDIST_WORKER") else None
    if worker_temp is None:
        return (yield)
    if not _TURNS:
        _TURNS.append(Turns(Path(worker_temp).parent / "triton-turns"))
    with _TURNS[0].alone() if item.get_closest_marker("measures") is not None else _TURNS[0].shared():
        return (yield)
