"""The tritonserver binary that ships inside the nvidia-pytriton wheel, made runnable without PyTriton.

The wheel carries the server, the python backend and one backend stub per Python version. Triton looks
for `<backend-dir>/python/{libtriton_python.so, triton_python_backend_stub}`, so we assemble that
directory once from the wheel's pieces, for the Python this session runs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import ServerStartError


@dataclass(frozen=True)
class ServerInstallation:
    """A tritonserver binary, its backend directory and the environment it needs."""

    binary: Path
    backend_dir: Path | None
    library_path: tuple[Path, ...]
    stub_python: Path = Path(sys.executable)  # the python stub runs in this interpreter's environment

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        paths = [str(p) for p in self.library_path]
        if env.get("LD_LIBRARY_PATH"):
            paths.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = os.pathsep.join(paths)
        # The python stub embeds an isolated interpreter that ignores PYTHONPATH and finds its prefix by
        # looking up "python3" on PATH: this interpreter's directory first makes it use our (virtual)
        # environment, with its numpy, torch and onnxruntime, instead of the base installation's.
        env["PATH"] = os.pathsep.join([str(self.stub_python.parent), env.get("PATH", "")])
        return env


@dataclass(frozen=True)
class WheelServer:
    """Where the nvidia-pytriton wheel puts the server's pieces, under the site-packages directory holding it. The
    offline bundle (offline/bundle.py) keeps the same layout."""

    site: Path

    @property
    def root(self) -> Path:
        return self.site / "pytriton" / "tritonserver"

    @property
    def binary(self) -> Path:
        return self.root / "bin" / "tritonserver"

    @property
    def backend(self) -> Path:
        """The python backend's library and utilities, without a stub."""
        return self.root / "backends" / "python"

    @property
    def stubs(self) -> Path:
        return self.root / "python_backend_stubs"

    def stub(self, version: str) -> Path:
        """The python backend stub of Python `version` ("3.12")."""
        return self.stubs / version / "triton_python_backend_stub"

    @property
    def libraries(self) -> Path:
        """The shared libraries the wheel bundles, which its executables find through their RPATH."""
        return self.site / "nvidia_pytriton.libs"


def wheel_server() -> WheelServer:
    """The installed nvidia-pytriton wheel's server; ServerStartError where the wheel is not installed."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError(
            "no tritonserver binary: the nvidia-pytriton wheel is not installed. "
            "Install it (pip install nvidia-pytriton==0.7.0), give the path of a tritonserver binary, "
            "or the address (HOST:PORT) of a server that already runs.",
            options=("triton_server", "triton_url"),
        )
    return WheelServer(Path(next(iter(spec.submodule_search_locations))).parent)


def _python_library_dir() -> Path:
    # The backend stub embeds libpython of this version; take the one this interpreter was built with.
    return Path(sysconfig.get_config_var("LIBDIR") or "/usr/lib")


def bundled_installation(work_dir: Path, stub_python: Path | None = None) -> ServerInstallation:
    """The wheel's server, with a backend directory assembled under `work_dir`; its python models run in the
    environment of `stub_python` (of this process without it), which must be of this Python version."""
    wheel = wheel_server()
    binary = wheel.binary
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = wheel.stub(version)
    if not binary.is_file():
        raise ServerStartError(f"the nvidia-pytriton wheel has no server binary at {binary}; reinstall it")
    if not stub.is_file():
        shipped = sorted(p.name for p in wheel.stubs.iterdir())
        raise ServerStartError(
            f"the nvidia-pytriton wheel has no python backend stub for Python {version} (it has {shipped}); "
            "run pytest with one of those Python versions"
        )
    if stub_python is not None and not os.access(stub_python, os.X_OK):
        raise ServerStartError(f"{stub_python}: no python interpreter there", options=("triton_stub_python",))
    backend = work_dir / "backends" / "python"
    backend.mkdir(parents=True, exist_ok=True)
    for source in [*wheel.backend.glob("*.*"), stub]:
        target = backend / source.name
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            shutil.copy2(source, target)
    installation = ServerInstallation(
        binary=binary,
        backend_dir=backend.parent,
        library_path=(_python_library_dir(), wheel.libraries),
        stub_python=stub_python or Path(sys.executable),
    )
    _check_libraries(backend / stub.name, installation)
    return installation


def _check_libraries(executable: Path, installation: ServerInstallation) -> None:
    """Fail early and clearly when a shared library the stub needs is absent (libpython most often)."""
    try:
        out = subprocess.run(
            ["ldd", str(executable)], env=installation.environment(), capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return  # no ldd: the server's own error will say it
    missing = [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
    # The CUDA driver library comes with a GPU; without one the server runs on the CPU.
    missing = [lib for lib in missing if not lib.startswith("libcuda.so")]
    if missing:
        raise ServerStartError(
            f"the python backend stub cannot run: missing shared libraries {missing}. "
            "On Debian/Ubuntu install them, e.g. apt-get install "
            f"libpython{sys.version_info.major}.{sys.version_info.minor}"
        )


def custom_installation(binary: Path) -> ServerInstallation:
    """A tritonserver binary the user gave; its own backends are used."""
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise ServerStartError(
            f"{binary}: no executable file there; give the path of a tritonserver binary", options=("triton_server",)
        )
    return ServerInstallation(binary=binary, backend_dir=None, library_path=())
