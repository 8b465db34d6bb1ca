"""Free TCP ports on the loopback, in a range of their own per xdist worker so workers never race."""

from __future__ import annotations

import socket

_FIRST_PORT = 20000
_PORTS_PER_WORKER = 1000


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, worker_index: int = 0, skip: int = 0) -> list[int]:
    """`count` ports free right now inside this worker's range; `skip` moves past earlier tries."""
    start = _FIRST_PORT + worker_index * _PORTS_PER_WORKER
    found: list[int] = []
    for port in range(start + skip, start + _PORTS_PER_WORKER):
        if _is_free(port):
            found.append(port)
            if len(found) == count:
                return found
    raise OSError(f"no {count} free ports between {start} and {start + _PORTS_PER_WORKER} on 127.0.0.1")
