"""CPU time and resident memory of a server's processes, read from /proc.

A local tritonserver runs in a session of its own, and its python-backend stubs inherit it, so the session's
processes are the server. CPU time (user + system) is what the server spent rather than how long it took; on the
shared CI machine it still moved nearly as much as throughput between runs: it tracks wall time there (about 1.5
cores busy while a request is served, whether onnxruntime spins or not), and a neighbour on the same physical core
slows every instruction; see benchmarks/regression_detection.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_PROC = "/proc"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Usage:
    """The live processes of a session at one instant."""

    cpu_s: float  # user + system of every live process (its exited threads included)
    rss_bytes: int
    processes: int
    # Model name -> resident memory of the python-backend stubs that serve it (one per instance): the memory a
    # python model takes, whatever else the server has loaded. Models of native backends live in tritonserver.
    stub_rss_bytes: dict[str, int]


@dataclass(frozen=True)
class MachineTime:
    """This machine's CPU time so far, all cores together (/proc/stat): how much of it a hypervisor gave to other
    guests (steal), the one disturbance a virtual machine can see."""

    total_s: float
    steal_s: float

    def steal_share_since(self, earlier: "MachineTime") -> float | None:
        total = self.total_s - earlier.total_s
        return (self.steal_s - earlier.steal_s) / total if total > 0 else None


def steal_between(opened: MachineTime | None, closed: MachineTime | None) -> float | None:
    """The share of this machine's CPU time between two readings that went to other guests; None where unknown."""
    return None if opened is None or closed is None else closed.steal_share_since(opened)


def machine_time(proc: str = _PROC) -> MachineTime | None:
    try:
        with open(f"{proc}/stat", "rb") as file:
            first = file.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is inside user already.
    ticks = [int(v) for v in first[1:9]]
    if first[:1] != [b"cpu"] or len(ticks) < 8:
        return None
    return MachineTime(total_s=sum(ticks) / _TICKS, steal_s=ticks[7] / _TICKS)


def session_usage(session_id: int, proc: str = _PROC) -> Usage | None:
    """Usage of the processes in session `session_id`, or None where /proc cannot tell (not Linux, gone)."""
    cpu_ticks = rss_pages = count = 0
    stubs: dict[str, int] = {}
    try:
        entries = os.listdir(proc)
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat", "rb") as file:
                stat = file.read().decode(errors="replace")
        except OSError:  # exited while we looked
            continue
        # The command name (field 2) may hold spaces and parentheses: the fields after the last ')' are fixed.
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[3]) != session_id:  # field 6, session
            continue
        cpu_ticks += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
        rss_pages += int(fields[21])  # field 24: rss
        count += 1
        model = _stub_model(proc, entry)
        if model is not None:
            stubs[model] = stubs.get(model, 0) + int(fields[21]) * _PAGE
    if count == 0:
        return None
    return Usage(cpu_s=cpu_ticks / _TICKS, rss_bytes=rss_pages * _PAGE, processes=count, stub_rss_bytes=stubs)


def _stub_model(proc: str, pid: str) -> str | None:
    """The model a python-backend stub serves: its first argument is REPOSITORY/MODEL/VERSION/model.py."""
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as file:
            argv = file.read().split(b"\0")
    except OSError:
        return None
    if len(argv) < 2 or not argv[0].endswith(b"triton_python_backend_stub"):
        return None
    parts = argv[1].decode(errors="replace").split("/")
    return parts[-3] if len(parts) >= 3 else None
