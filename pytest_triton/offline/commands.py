"""The offline tools' subprocesses: a failure is a BundleError naming the step, with the command's last words."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from pytest_triton.errors import BundleError

TIMEOUT_S = 600


def run_command(args: list[str], what: str, timeout_s: float = TIMEOUT_S) -> str:
    """`args`' standard output, once it exits 0 within `timeout_s`."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BundleError(f"{what}: {error}") from None
    if done.returncode != 0:
        raise BundleError(f"{what} failed (exit {done.returncode}):\n{(done.stderr or done.stdout)[-2000:]}")
    return done.stdout


def run_json(args: list[str], what: str, timeout_s: float = TIMEOUT_S) -> Any:
    """The JSON a probe prints on its last line of output (a library may have printed warnings before it)."""
    out = run_command(args, what, timeout_s)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BundleError(f"{what}: no answer in its output: {out[-500:]!r}") from None
