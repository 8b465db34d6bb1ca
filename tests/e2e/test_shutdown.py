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


# The project `suites` sets up; the export made before, so the interrupted run gets to its tests fast.
@pytest.mark.usefixtures("suites", "small_export")
def test_ctrl_c_leaves_no_server_stub_or_shared_memory(pytester, small, export_cache):
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--triton-cache-dir={export_cache}", *small],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=interruptible,
    )
    prefix = f"pytest_triton_{process.pid}_"
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 300
        for line in process.stdout:
            if "test_model_ready" in line and "PASSED" in line:
                break
            assert time.monotonic() < deadline, "the run never reached its first model test"
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
