"""Free TCP ports on the loopback, in a range of their own per xdist worker so workers never race."""

from __future__ import annotations

import socket

from pytest_triton.errors import ServerStartError

_FIRST_PORT = 20000
_PORTS_PER_WORKER = 1000
_RANGES = (65536 - _FIRST_PORT) // _PORTS_PER_WORKER


def worker_range(worker_index: int) -> range:
    """The ports worker `worker_index` searches; past the 45th worker the ranges are reused in turn."""
    start = _FIRST_PORT + (worker_index % _RANGES) * _PORTS_PER_WORKER
    return range(start, start + _PORTS_PER_WORKER)


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, worker_index: int = 0, after: int | None = None) -> list[int]:
    """`count` ports free right now in this worker's range, above `after` (the last port an earlier try got)."""
    ports = worker_range(worker_index)
    found: list[int] = []
    for port in ports:
        if (after is None or port > after) and _is_free(port):
            found.append(port)
            if len(found) == count:
                return found
    raise ServerStartError(
        f"no {count} free TCP ports between {ports.start} and {ports.stop} on 127.0.0.1 (this process's range"
        f"{f' above {after}' if after is not None else ''}); stop what holds them, or run with fewer xdist workers"
    )
