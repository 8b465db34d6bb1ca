"""launch_modes: one launcher per launch mode name, looked up by make_server."""

from __future__ import annotations

from pytest_triton.kinds import LAUNCH_MODES
from pytest_triton.launch_modes import LAUNCHERS, make_server
from pytest_triton.server.endpoint import RemoteAddress
from pytest_triton.server.remote import RemoteServer
from pytest_triton.settings import Settings


def test_every_launch_mode_has_its_launcher():
    assert tuple(LAUNCHERS) == LAUNCH_MODES


def test_make_server_builds_the_server_of_the_mode(tmp_path):
    address = RemoteAddress(http="h:8001")
    server = make_server(Settings(launch_mode="remote", remotes=(address,), protocol="http"), tmp_path)
    assert isinstance(server, RemoteServer)
    assert (server.address, server.protocol) == (address, "http")
