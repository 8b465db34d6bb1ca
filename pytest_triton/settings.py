"""The run's settings: what the library needs to know to serve and check, built from the checked option values
(options.py) and usable without pytest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.kinds import (
    CPU_FORMATS,
    DEFAULT_IMAGE,
    DEFAULT_PRECISIONS,
    FORMATS,
    STREAM_TIMEOUT_S,
    LaunchMode,
    Protocol,
)
from pytest_triton.repository.baseline_source import BaselineSource
from pytest_triton.server.endpoint import ClientSecurity, RemoteAddress


@dataclass(frozen=True)
class Settings:
    launch_mode: LaunchMode = "local"
    server_binary: Path | None = None
    stub_python: Path | None = None  # the interpreter whose environment the bundled server's python stub uses
    image: str = DEFAULT_IMAGE
    # Servers someone else runs (remote mode): one, or a fleet whose xdist workers take one each.
    remotes: tuple[RemoteAddress, ...] = ()
    remote_index: int = 0
    hardware: str | None = None  # a remote server's hardware key, as the user names it
    metrics_port: int | None = None  # a remote server's metrics endpoint, on its host
    # An existing repository the local or docker server serves beside its own; its models are the ones checked.
    model_repository: Path | None = None
    # Sizes of served models' variable dims, by "model/input" or "input" (models.served).
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    protocol: Protocol = "grpc"
    security: ClientSecurity = ClientSecurity()
    gpus: tuple[int, ...] = ()
    models: tuple[str, ...] = ()
    formats: tuple[str, ...] = CPU_FORMATS  # Settings.from_options: every format where GPUs are given
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    checkpoints: dict[str, Path] = field(default_factory=dict)
    tolerances: Tolerances = field(default_factory=Tolerances)
    golden_dir: Path | None = None  # parity against these golden outputs, not a PyTorch reference
    save_golden_dir: Path | None = None  # parity runs write the golden outputs of their models here
    start_timeout: float = 120.0
    stream_timeout: float = STREAM_TIMEOUT_S  # a decoupled model's stream without a response this long has stalled
    cache_dir: Path | None = None
    save_deployment: Path | None = None  # each model this run deploys is saved here (repository.saved)
    perf_against: BaselineSource | None = None  # the baseline deployment perf is measured against, side by side

    @property
    def remote(self) -> RemoteAddress | None:
        """The remote server this process checks."""
        return self.remotes[self.remote_index] if self.remotes else None

    @property
    def url(self) -> str | None:
        """The remote server's address over the run's protocol (its other one where it has only that)."""
        return self.remote.url(self.protocol) if self.remote else None

    @property
    def device(self) -> str:
        """Where references run and instances are placed: the first GPU given, else the CPU."""
        return f"cuda:{self.gpus[0]}" if self.gpus else "cpu"

    def for_worker(self, index: int, is_xdist_worker: bool) -> "Settings":
        """Under xdist, worker i takes GPU i modulo the list (pytest -n 4 --triton-gpu=0,1,2,3: one GPU each),
        and remote server i modulo the fleet; a single process keeps every GPU and spreads its model instances
        over them."""
        if not is_xdist_worker or (len(self.gpus) < 2 and len(self.remotes) < 2):
            return self
        gpus = (self.gpus[index % len(self.gpus)],) if len(self.gpus) > 1 else self.gpus
        return dataclasses.replace(self, gpus=gpus, remote_index=index % len(self.remotes) if self.remotes else 0)

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> "Settings":
        """From the checked option values of options.read_options."""
        return cls(
            launch_mode=values["triton_launch_mode"],
            server_binary=values["triton_server"],
            stub_python=values["triton_stub_python"],
            image=values["triton_image"],
            remotes=values["triton_url"] or (),
            hardware=values["triton_hardware"],
            metrics_port=values["triton_metrics_port"],
            model_repository=values["triton_model_repository"],
            input_shapes=values["triton_input_shape"] or {},
            protocol=values["triton_protocol"],
            security=ClientSecurity(
                ssl=values["triton_ssl"], root_certificates=values["triton_root_certs"], headers=values["triton_header"]
            ),
            gpus=values["triton_gpu"] or (),
            models=values["triton_models"],
            formats=values["triton_formats"] or (FORMATS if values["triton_gpu"] else CPU_FORMATS),
            precisions=values["triton_precisions"],
            checkpoints=values["triton_checkpoint"],
            tolerances=values["triton_tolerance"],
            golden_dir=values["triton_golden"],
            save_golden_dir=values["triton_save_golden"],
            start_timeout=values["triton_start_timeout"],
            stream_timeout=values["triton_stream_timeout"],
            cache_dir=values["triton_cache_dir"],
            save_deployment=values["triton_save_deployment"],
            perf_against=values["triton_perf_against"],
        )
