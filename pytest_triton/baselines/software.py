"""What a baseline was measured with, recorded next to it so a changed number can be traced to a changed stack."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any, Mapping, Sequence

from pytest_triton.baselines.hardware import nvidia_smi_query


def package_version(*names: str) -> str | None:
    """The installed version of the first of `names` present (e.g. onnxruntime or onnxruntime-gpu)."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def driver_version() -> str | None:
    versions = nvidia_smi_query("driver_version")
    return versions[0] if versions else None


def software_versions(
    server_metadata: Mapping[str, Any] | None = None, backend: str | None = None, gpus: Sequence[int] = ()
) -> dict[str, str | None]:
    """Triton's version from its server metadata, the backend, the client-side stack, and the driver on GPUs."""
    return {
        "triton": str(server_metadata["version"]) if server_metadata and "version" in server_metadata else None,
        "backend": backend,
        "torch": package_version("torch"),
        "onnxruntime": package_version("onnxruntime", "onnxruntime-gpu"),
        "tensorrt": package_version("tensorrt"),
        "tritonclient": package_version("tritonclient"),
        "python": platform.python_version(),
        "driver": driver_version() if gpus else None,
    }


def software_changes(
    baseline: Mapping[str, str | None], current: Mapping[str, str | None]
) -> dict[str, tuple[str | None, str | None]]:
    """Components whose known version differs: name -> (baseline's, current). Unknown on either side is no change."""
    return {
        name: (baseline.get(name), current.get(name))
        for name in sorted(set(baseline) | set(current))
        if baseline.get(name) and current.get(name) and baseline.get(name) != current.get(name)
    }
