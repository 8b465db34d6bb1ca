"""The launch modes by name: the one place that knows how each kind of server comes to be."""

from __future__ import annotations

from pathlib import Path

from pytest_triton.server.bundled import bundled_installation, custom_installation
from pytest_triton.server.endpoint import Server
from pytest_triton.server.docker import DockerServer
from pytest_triton.server.local import LocalServer
from pytest_triton.server.remote import RemoteServer
from pytest_triton.settings import Settings


def make_server(settings: Settings, work_dir: Path, worker_index: int = 0) -> Server:
    """A not-yet-started server for `settings.launch_mode`."""
    if settings.launch_mode == "remote":
        assert settings.url is not None
        return RemoteServer(settings.url, settings.protocol, settings.security, settings.start_timeout)
    if settings.launch_mode == "docker":
        return DockerServer(settings.image, work_dir / "model-repository", settings.gpus, settings.start_timeout)
    installation = (
        custom_installation(settings.server_binary)
        if settings.server_binary
        else bundled_installation(work_dir)
    )
    return LocalServer(
        installation,
        repository=work_dir / "model-repository",
        log_dir=work_dir / "logs",
        gpus=settings.gpus,
        worker_index=worker_index,
        start_timeout=settings.start_timeout,
    )
