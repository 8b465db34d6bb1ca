"""The offline tools' subprocesses: a failure is a BundleError naming the step, with the command's last words."""

from __future__ import annotations

import subprocess

from pytest_triton.errors import BundleError

TIMEOUT_S = 600


def run_command(args: list[str], what: str) -> str:
    """`args`' standard output, once it exits 0 within TIMEOUT_S."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BundleError(f"{what}: {error}") from None
    if done.returncode != 0:
        raise BundleError(f"{what} failed (exit {done.returncode}):\n{(done.stderr or done.stdout)[-2000:]}")
    return done.stdout
