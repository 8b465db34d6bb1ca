"""The launch modes by name: the one place that knows how each kind of server comes to be.

Adding a launch mode is its name in kinds.LaunchMode and one entry in LAUNCHERS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import LaunchMode
from pytest_triton.server.bundled import bundled_installation, custom_installation
from pytest_triton.server.docker import DockerServer
from pytest_triton.server.endpoint import Server
from pytest_triton.server.local import LocalServer
from pytest_triton.server.remote import RemoteServer
from pytest_triton.settings import Settings

# (settings, work directory, xdist worker index) -> a not-yet-started server.
Launcher = Callable[[Settings, Path, int], Server]


def _local(settings: Settings, work_dir: Path, worker_index: int) -> Server:
    installation = (
        custom_installation(settings.server_binary)
        if settings.server_binary
        else bundled_installation(work_dir, settings.stub_python)
    )
    return LocalServer(
        installation,
        repository=work_dir / "model-repository",
        log_dir=work_dir / "logs",
        gpus=settings.gpus,
        worker_index=worker_index,
        start_timeout=settings.start_timeout,
        served_repository=settings.model_repository,
    )


def _remote(settings: Settings, work_dir: Path, worker_index: int) -> Server:
    if settings.remote is None:
        raise TritonPluginError("remote mode needs the server's address (HOST:PORT)", options=("triton_url",))
    return RemoteServer(
        settings.remote,
        settings.protocol,
        settings.security,
        settings.start_timeout,
        metrics_port=settings.metrics_port,
    )


def _docker(settings: Settings, work_dir: Path, worker_index: int) -> Server:
    return DockerServer(
        settings.image,
        work_dir / "model-repository",
        settings.gpus,
        settings.start_timeout,
        served_repository=settings.model_repository,
    )


LAUNCHERS: Mapping[LaunchMode, Launcher] = {"local": _local, "remote": _remote, "docker": _docker}


def make_server(settings: Settings, work_dir: Path, worker_index: int = 0) -> Server:
    """A not-yet-started server for `settings.launch_mode`."""
    return LAUNCHERS[settings.launch_mode](settings, work_dir, worker_index)
