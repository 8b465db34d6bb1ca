"""server.ports: free loopback ports, in a range of their own per xdist worker.

Real sockets throughout. Other processes on this machine may hold ports in these ranges at any time,
so the tests assert properties of what is returned, never exact port numbers (except where a socket
of the test itself makes the outcome certain). Worker indices 5-9 keep clear of the ranges that
concurrently running servers (workers 0-1) use.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest

from pytest_triton.errors import ServerStartError
from pytest_triton.server.ports import _PORTS_PER_WORKER, free_ports, worker_range


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def held(port: int, host: str = "127.0.0.1"):
    sock = socket.socket()
    try:
        sock.bind((host, port))
        sock.listen()
        yield sock
    finally:
        sock.close()


def test_returns_distinct_free_ports_inside_the_workers_range():
    ports = free_ports(5, worker_index=5)
    assert len(ports) == 5
    assert len(set(ports)) == 5
    assert ports == sorted(ports)
    assert all(p in worker_range(5) for p in ports)
    assert all(bindable(p) for p in ports)


def test_worker_ranges_are_disjoint():
    ranges = [set(worker_range(i)) for i in range(8)]
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            assert not a & b
    found = {i: free_ports(3, worker_index=i) for i in (5, 6, 7)}
    for i, ports in found.items():
        assert all(p in worker_range(i) for p in ports)
    assert len({p for ports in found.values() for p in ports}) == 9


def test_default_worker_is_zero():
    assert all(p in worker_range(0) for p in free_ports(2))


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_a_port_held_by_a_bound_socket_is_skipped(host):
    first = free_ports(1, worker_index=8)[0]
    with held(first, host):
        again = free_ports(3, worker_index=8)
        assert first not in again
        assert all(p in worker_range(8) for p in again)
    # Released: found again (unless another process grabbed it in between, which the assert would show).
    assert first in free_ports(1, worker_index=8, after=first - 1)


def test_after_moves_the_start():
    start = worker_range(9).start
    ports = free_ports(2, worker_index=9, after=start + 99)
    assert all(p >= start + 100 for p in ports)
    assert all(p in worker_range(9) for p in ports)


def test_no_free_ports_left_is_a_clear_error_naming_the_range_and_the_remedy():
    start = worker_range(9).start
    with pytest.raises(ServerStartError) as info:
        free_ports(1, worker_index=9, after=start + _PORTS_PER_WORKER - 1)
    assert str(start) in str(info.value) and str(start + _PORTS_PER_WORKER) in str(info.value)
    assert "stop what holds them, or run with fewer xdist workers" in str(info.value)


def test_too_few_free_ports_in_the_tail_of_the_range_raises():
    """Only the last port of the range is searched and two are asked for."""
    with pytest.raises(ServerStartError, match="no 2 free TCP ports"):
        free_ports(2, worker_index=9, after=worker_range(9).stop - 2)


def test_high_worker_indices_reuse_ranges_below_65536():
    assert worker_range(46).stop <= 65536
    assert all(p < 65536 for p in free_ports(3, worker_index=46))


def test_after_moves_past_earlier_tries():
    start = worker_range(9).start
    sockets = [socket.socket() for _ in range(6)]
    try:
        for offset, sock in enumerate(sockets):
            sock.bind(("127.0.0.1", start + offset))
        first = free_ports(3, worker_index=9)
        second = free_ports(3, worker_index=9, after=max(first))  # what LocalServer.start asks on a retry
        assert not set(first) & set(second)
    finally:
        for sock in sockets:
            sock.close()
