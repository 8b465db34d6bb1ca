"""A server someone else runs, reached at its address; we only check that it answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import ServerStartError
from pytest_triton.server.client import TritonClient
from pytest_triton.server.endpoint import ClientSecurity, RemoteAddress, ServerEndpoint


@dataclass
class RemoteServer:
    """`address` names the protocols the server is reached over; readiness is asked over `protocol` where the
    address has it."""

    address: RemoteAddress
    protocol: str = "grpc"
    security: ClientSecurity = ClientSecurity()
    start_timeout: float = 30.0
    repository: Path | None = None  # not ours to write: models are deployed by whoever runs it
    metrics_port: int | None = None  # its metrics endpoint's port on the same host, where known

    def endpoint(self) -> ServerEndpoint:
        """Its addresses, without asking it anything."""
        host = self.address.url("grpc").rpartition(":")[0]
        return ServerEndpoint(
            launch_mode="remote",
            grpc_url=self.address.grpc,
            http_url=self.address.http,
            security=self.security,
            manages_models=False,
            metrics_url=f"{host}:{self.metrics_port}" if self.metrics_port else None,
        )

    def start(self) -> ServerEndpoint:
        endpoint = self.endpoint()
        protocol = endpoint.preferred(self.protocol)
        client = TritonClient(endpoint, protocol)
        try:
            client.wait_ready(self.start_timeout)
        except ServerStartError as error:
            raise ServerStartError(
                f"the server at {self.address.url(protocol)}: {error}. Check the address and port (gRPC is usually "
                "8001, HTTP 8000) and the protocol, or give no address to launch a local server.",
                options=("triton_url", "triton_protocol"),
            ) from None
        finally:
            client.close()
        return endpoint

    def stop(self) -> None:
        """Nothing to stop: the server is not ours."""

    def log_tail(self, lines: int = 40) -> str:
        return ""
