"""launch_modes: one launcher per launch mode name, looked up by make_server."""

from __future__ import annotations

import pytest

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


def test_docker_mode_mounts_an_existing_repository_read_only_beside_its_own(tmp_path, monkeypatch):
    """A mock of testcontainers' container: this machine has no Docker engine. It records what the server asks the
    container for and refuses to start, as a missing image would."""
    import testcontainers.core.container

    from pytest_triton.errors import ServerStartError
    from pytest_triton.server import docker

    made = []

    class Container:
        def __init__(self, image: str) -> None:
            self.volumes: list[tuple[str, str, str]] = []
            self.command = ""
            made.append(self)

        def with_exposed_ports(self, *ports: int) -> "Container":
            return self

        def with_volume_mapping(self, host: str, container: str, mode: str) -> "Container":
            self.volumes.append((host, container, mode))
            return self

        def with_command(self, command: str) -> "Container":
            self.command = command
            return self

        def start(self) -> None:
            raise RuntimeError("pull access denied")

    monkeypatch.setattr(testcontainers.core.container, "DockerContainer", Container)
    monkeypatch.setattr(docker, "docker_client", lambda: None)
    theirs = tmp_path / "theirs"
    settings = Settings(launch_mode="docker", model_repository=theirs)
    with pytest.raises(ServerStartError, match="could not start .*: pull access denied"):
        make_server(settings, tmp_path).start()
    (container,) = made
    assert container.volumes == [
        (str(tmp_path / "model-repository"), "/models", "rw"),
        (str(theirs.resolve()), "/served-models", "ro"),
    ]
    assert container.command == (
        "tritonserver --model-repository=/models --model-repository=/served-models --model-control-mode=explicit"
    )
