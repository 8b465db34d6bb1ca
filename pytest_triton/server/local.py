"""A tritonserver process on this machine: loopback only, free ports, explicit model control."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from pytest_triton.errors import ServerStartError
from pytest_triton.server.bundled import ServerInstallation
from pytest_triton.server.endpoint import ServerEndpoint
from pytest_triton.server.ports import free_ports

_PORT_TRIES = 3
# What Triton logs, in its own words, when a port was taken ("Address already in use", "Socket '...' already in
# use"): another process bound it between our check and Triton's bind.
_PORT_TAKEN = "already in use"
_PR_SET_PDEATHSIG = 1


def _answers_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _die_with_parent() -> None:
    # If pytest is killed outright, the kernel stops the server too instead of leaving it running.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class LocalServer:
    """Launches `installation.binary` serving `repository`, on `gpus` or on the CPU when empty."""

    installation: ServerInstallation
    repository: Path
    log_dir: Path
    gpus: tuple[int, ...] = ()
    worker_index: int = 0
    start_timeout: float = 120.0
    stop_timeout: float = 30.0
    extra_args: tuple[str, ...] = ()
    # An existing repository served beside ours, read only: its models load by name (explicit control).
    served_repository: Path | None = None
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _log_path: Path | None = field(default=None, init=False)
    _shm_prefix: str = field(default="", init=False)

    def start(self) -> ServerEndpoint:
        self.repository.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        last_log = ""
        last_port: int | None = None
        for _ in range(_PORT_TRIES):
            http, grpc, metrics = free_ports(3, self.worker_index, after=last_port)
            last_port = metrics
            self._launch(http, grpc, metrics)
            try:
                self._wait_ready(http, grpc)
            except ServerStartError:
                last_log = self.log_tail()
                self.stop()
                if _PORT_TAKEN in last_log.lower():
                    continue  # another process took a port between our check and the bind
                raise
            assert self._process is not None
            return ServerEndpoint(
                launch_mode="local",
                grpc_url=f"127.0.0.1:{grpc}",
                http_url=f"127.0.0.1:{http}",
                server_session=self._process.pid,  # start_new_session: its pid is the session id
                metrics_url=f"127.0.0.1:{metrics}",
            )
        raise ServerStartError(f"tritonserver could not bind free ports in {_PORT_TRIES} tries:\n{last_log}")

    def _launch(self, http: int, grpc: int, metrics: int) -> None:
        self._shm_prefix = f"pytest_triton_{os.getpid()}_{uuid.uuid4().hex[:8]}_"
        self._log_path = self.log_dir / f"tritonserver-{http}.log"
        args = [
            str(self.installation.binary),
            f"--model-repository={self.repository}",
            *([f"--model-repository={self.served_repository.resolve()}"] if self.served_repository else []),
            "--model-control-mode=explicit",
            # Triton binds 0.0.0.0 by default; a test server must not be reachable from outside.
            "--http-address=127.0.0.1",
            "--grpc-address=127.0.0.1",
            f"--http-port={http}",
            f"--grpc-port={grpc}",
            f"--metrics-port={metrics}",
            # Readiness means "serving"; a model that failed to load is reported by its own readiness.
            "--strict-readiness=false",
            # Only for the SIGTERM a killed pytest leaves it (_die_with_parent); stop() kills it outright.
            f"--exit-timeout-secs={int(self.stop_timeout // 2)}",
            f"--backend-config=python,shm-region-prefix-name={self._shm_prefix}",
            *self.extra_args,
        ]
        if self.installation.backend_dir is not None:
            args.append(f"--backend-directory={self.installation.backend_dir}")
        env = self.installation.environment()
        if not self.gpus:
            # CPU mode stays on the CPU even on a GPU machine. With GPUs the indices in the model configs
            # are the machine's, so the server must see the same devices as this process.
            env["CUDA_VISIBLE_DEVICES"] = ""
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                # Own session: a Ctrl-C in the terminal reaches pytest, which then stops the server.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def _wait_ready(self, http_port: int, grpc_port: int) -> None:
        """Until this server answers ready on its ports. Its own log must say it holds them: where another server
        took one between our check and the bind, that one answers the health check too."""
        deadline = time.monotonic() + self.start_timeout
        url = f"http://127.0.0.1:{http_port}/v2/health/ready"
        started = (
            f"Started HTTPService at 127.0.0.1:{http_port}",
            f"Started GRPCInferenceService at 127.0.0.1:{grpc_port}",
        )
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServerStartError(
                    f"tritonserver exited with code {self._process.returncode} while starting; "
                    f"its log ({self._log_path}) ends with:\n{self.log_tail()}"
                )
            log = self._log_text()
            if _PORT_TAKEN in log.lower():
                raise ServerStartError(f"tritonserver found a port taken; its log ends with:\n{self.log_tail()}")
            if all(line in log for line in started) and _answers_ready(url):
                return
            time.sleep(0.1)
        raise ServerStartError(
            f"tritonserver was not ready after {self.start_timeout:.0f} s (the start timeout); "
            f"its log ends with:\n{self.log_tail()}",
            options=("triton_start_timeout",),
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            # Killed, not asked to exit: nothing of this server outlives the run (its repository is the run's, its
            # shared memory is removed below), and Triton's orderly exit looks at its models once a second, which
            # cost 2-3 s at the end of every run. Its python stubs share its process group and go with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):  # only a process stuck in the kernel outlasts this
                process.wait(timeout=self.stop_timeout)
        self._remove_shared_memory()

    def _remove_shared_memory(self) -> None:
        if not self._shm_prefix:
            return
        for region in Path("/dev/shm").glob(f"{self._shm_prefix}*"):
            region.unlink(missing_ok=True)

    def _log_text(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        with open(self._log_path, errors="replace") as log:
            return "".join(deque(log, maxlen=lines))

    @property
    def log_path(self) -> Path | None:
        return self._log_path
