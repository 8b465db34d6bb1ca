"""A Triton server in a Docker container (testcontainers): real Triton images with native backends.

The model repository is a directory on this machine mounted into the container, so deploying writes
files exactly as in local mode. Ports are published on random host ports; GPUs are passed through with a
device request when --triton-gpu names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_triton.errors import ServerStartError
from pytest_triton.server.endpoint import ServerEndpoint

_CONTAINER_REPOSITORY = "/models"
_CONTAINER_SERVED_REPOSITORY = "/served-models"
_HTTP, _GRPC, _METRICS = 8000, 8001, 8002


def docker_client() -> Any:
    """A client of the Docker engine, or ServerStartError saying that none answers here."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
        return client
    except Exception as error:  # docker-py raises several types for "no engine"; all mean the same here
        raise ServerStartError(
            f"docker mode: no Docker engine answers here ({str(error).strip()[:200]}); "
            "start Docker, or use the default local mode",
            options=("triton_launch_mode",),
        ) from None


@dataclass
class DockerServer:
    image: str
    repository: Path
    gpus: tuple[int, ...] = ()
    start_timeout: float = 300.0
    # An existing repository mounted read only and served beside ours; its models load by name.
    served_repository: Path | None = None
    _container: Any = field(default=None, init=False, repr=False)

    def start(self) -> ServerEndpoint:
        from testcontainers.core.container import DockerContainer

        docker_client()
        self.repository.mkdir(parents=True, exist_ok=True)
        repositories = f"--model-repository={_CONTAINER_REPOSITORY}"
        container = (
            DockerContainer(self.image)
            .with_exposed_ports(_HTTP, _GRPC, _METRICS)
            .with_volume_mapping(str(self.repository), _CONTAINER_REPOSITORY, "rw")
        )
        if self.served_repository is not None:
            repositories += f" --model-repository={_CONTAINER_SERVED_REPOSITORY}"
            container = container.with_volume_mapping(
                str(self.served_repository.resolve()), _CONTAINER_SERVED_REPOSITORY, "ro"
            )
        container = container.with_command(f"tritonserver {repositories} --model-control-mode=explicit")
        if self.gpus:
            from docker.types import DeviceRequest

            container = container.with_kwargs(
                device_requests=[DeviceRequest(device_ids=[str(g) for g in self.gpus], capabilities=[["gpu"]])],
                shm_size="1g",
            )
        try:
            container.start()
        except Exception as error:  # image pull or run failures come from docker-py in many types
            raise ServerStartError(f"could not start {self.image}: {str(error).strip()[:300]}") from None
        self._container = container
        host = container.get_container_host_ip()
        endpoint = ServerEndpoint(
            launch_mode="docker",
            grpc_url=f"{host}:{container.get_exposed_port(_GRPC)}",
            http_url=f"{host}:{container.get_exposed_port(_HTTP)}",
            metrics_url=f"{host}:{container.get_exposed_port(_METRICS)}",
        )
        from pytest_triton.server.client import TritonClient  # tritonclient is heavy: imported when a container starts

        with TritonClient(endpoint, "http") as client:
            try:
                client.wait_ready(self.start_timeout)
            except ServerStartError as error:
                tail = self.log_tail()
                self.stop()
                raise ServerStartError(f"{self.image}: {error}; its log ends with:\n{tail}") from None
        return endpoint

    def stop(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.stop()

    def log_tail(self, lines: int = 40) -> str:
        if self._container is None:
            return ""
        out, err = self._container.get_logs()
        text = (out or b"").decode(errors="replace") + (err or b"").decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
