"""Ctrl-C in the middle of a run: the server and its python stubs go, shared memory is released."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import interruptible


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if text in args:
            found.append(f"{cmdline.parent.name}: {args[:200]}")
    return found


# Runs last (its file's name sorts after the suites'), once the model tests have started the server and its stubs:
# Ctrl-C lands in a test's sleep. Between two tests it can land where CPython 3.11 gives a traceback entry no line
# number, and pytest's own report of the interrupt then fails (TypeError in pytest_keyboard_interrupt, exit 1).
HOLD = """
import time


def test_hold(triton_session):
    print("HOLDING", flush=True)
    time.sleep(120)
"""


# The project `suites` sets up; the export made before, so the interrupted run gets to its tests fast.
@pytest.mark.usefixtures("suites", "small_export")
def test_ctrl_c_leaves_no_server_stub_or_shared_memory(pytester, small, export_cache):
    (pytester.path / "suites" / "test_zz_hold.py").write_text(HOLD)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-v", "-s", "-p", "no:cacheprovider", f"--triton-cache-dir={export_cache}",
         *small],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=interruptible,
    )  # fmt: skip
    prefix = f"pytest_triton_{process.pid}_"
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 300
        for line in process.stdout:
            if "HOLDING" in line:
                break
            assert time.monotonic() < deadline, "the run never reached the holding test"
        assert _processes_mentioning(prefix), "expected a running tritonserver with its stub before Ctrl-C"
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=90)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, rest  # pytest's "interrupted"
    assert "KeyboardInterrupt" in rest
    assert _processes_mentioning(prefix) == []
    assert list(Path("/dev/shm").glob(f"{prefix}*")) == []
