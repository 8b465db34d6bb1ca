"""Where a running server answers, and how to talk to it; what every launch mode hands the checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import Protocol as WireProtocol


@dataclass(frozen=True)
class ClientSecurity:
    """TLS and request headers (auth tokens) passed through to every request; never printed."""

    ssl: bool = False
    root_certificates: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ServerEndpoint:
    """Addresses of one server. A protocol whose address is unknown is None."""

    launch_mode: str
    grpc_url: str | None
    http_url: str | None
    security: ClientSecurity = ClientSecurity()
    # Whether this session may load and unload models (false for a remote server in another control mode).
    manages_models: bool = True
    # The session id of the server's processes where this machine runs them (local mode): their CPU time and
    # memory are read from /proc (perf.server_usage). None elsewhere.
    server_session: int | None = None
    # HOST:PORT of Triton's metrics endpoint (Prometheus text at /metrics) where it is known.
    metrics_url: str | None = None

    def url(self, protocol: str) -> str:
        """The address for `protocol` ("grpc" or "http"), or an error saying how to give it."""
        url = self.grpc_url if protocol == "grpc" else self.http_url
        if url is None:
            raise TritonPluginError(
                f"no {protocol} address is known for this {self.launch_mode} server; "
                f"give its {protocol} address and protocol",
                options=("triton_url", "triton_protocol"),
            )
        return url

    @property
    def protocols(self) -> tuple[WireProtocol, ...]:
        return _known(grpc=self.grpc_url, http=self.http_url)

    def preferred(self, protocol: str) -> WireProtocol:
        """`protocol` where this server answers over it, else the protocol it does answer over."""
        return next((known for known in self.protocols if known == protocol), self.protocols[0])


@dataclass(frozen=True)
class RemoteAddress:
    """One server someone else runs: its gRPC and HTTP addresses (HOST:PORT), either of them unknown (None)."""

    grpc: str | None = None
    http: str | None = None

    def url(self, protocol: str) -> str:
        """The address of `protocol`, else the one address known."""
        return (self.grpc if protocol == "grpc" else self.http) or self.grpc or self.http or "?"

    @property
    def protocols(self) -> tuple[WireProtocol, ...]:
        return _known(grpc=self.grpc, http=self.http)

    def __str__(self) -> str:
        return " and ".join(f"{p}://{self.url(p)}" for p in self.protocols)


def group_addresses(addresses: list[tuple[str, str]]) -> tuple[RemoteAddress, ...]:
    """(protocol, HOST:PORT) pairs as servers, host by host in the order hosts first appear: a host's one gRPC and
    one HTTP address are one server, answering over both; every other address is a server of its own (a fleet)."""
    by_host: dict[str, list[tuple[str, str]]] = {}
    for protocol, url in dict.fromkeys(addresses):
        by_host.setdefault(url.rpartition(":")[0], []).append((protocol, url))
    servers: list[RemoteAddress] = []
    for pairs in by_host.values():
        if sorted(p for p, _ in pairs) == ["grpc", "http"]:
            servers.append(RemoteAddress(**dict(pairs)))
        else:
            servers += [RemoteAddress(**{protocol: url}) for protocol, url in pairs]
    return tuple(servers)


def _known(grpc: str | None, http: str | None) -> tuple[WireProtocol, ...]:
    """The protocols whose address is known, gRPC first."""
    return (*(("grpc",) if grpc else ()), *(("http",) if http else ()))


class Server(Protocol):
    """One launch mode. A check never sees which one it is; it only gets the endpoint."""

    @property
    def repository(self) -> Path | None:
        """The directory the server loads models from, where this process can write it; else None and model files
        travel inside the repository API's load request."""

    def start(self) -> ServerEndpoint:
        """Start (or connect) and wait until the server is ready; raise ServerStartError otherwise."""

    def stop(self) -> None:
        """Stop what start() started; leave no process or shared-memory region behind."""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log, or "" where this mode cannot see it."""
