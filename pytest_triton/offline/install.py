"""Installs a bundle into a temporary place on the GPU machine, leaving the machine's packages untouched and reaching
no network. Two virtual environments: pytest's sees the machine's packages (torch, onnxruntime, transformers, numpy)
behind the bundle's wheels, with the bundle's tritonserver where the nvidia-pytriton wheel puts it; the server's
python stub's sees pytest's behind the bundle's numpy (below 2), which the machine's other packages may refuse."""

from __future__ import annotations

import site
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.errors import BundleError
from pytest_triton.offline.bundle import SERVER_ARCHIVE, STUB_ONLY, WHEELS
from pytest_triton.offline.commands import run_command
from pytest_triton.offline.manifest import check_manifest
from pytest_triton.offline.places import require_empty
from pytest_triton.offline.preflight import check_environments, check_machine


@dataclass(frozen=True)
class Installed:
    python: Path  # pytest runs with it
    stub_python: Path  # the server's python stub runs in its environment
    seconds: float


def _machine_sites() -> list[str]:
    sites = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and Path(site.getusersitepackages()).is_dir():
        sites.append(site.getusersitepackages())
    return sites


def _environment(env: Path, behind: list[str]) -> tuple[Path, Path]:
    """A virtual environment whose own site-packages come first and the `behind` directories after (a .pth file,
    whose addsitedir reads their .pth files too)."""
    run_command([sys.executable, "-m", "venv", "--without-pip", str(env)], f"making a virtual environment in {env}")
    python = env / "bin" / "python"
    purelib = run_command([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "venv")
    site_dir = Path(purelib.strip())
    added = "; ".join(f"site.addsitedir({path!r})" for path in behind)
    (site_dir / "behind.pth").write_text(f"import site; {added}\n")
    return python, site_dir


def _install_wheels(wheels: list[Path], site_dir: Path) -> None:
    # --isolated: the machine's pip configuration (a required virtualenv, user installs) has no say.
    pip = [sys.executable, "-m", "pip", "--isolated", "install", "--quiet", "--no-index", "--no-deps", "--no-compile"]
    args = [*pip, "--disable-pip-version-check", "--target", str(site_dir), *map(str, wheels)]
    run_command(args, f"installing {', '.join(w.name.split('-')[0] for w in wheels)}")


def install_bundle(bundle: Path, place: Path) -> Installed:
    """Checks `bundle` against its manifest and installs it under `place` (made if missing)."""
    started = time.monotonic()
    check_machine(check_manifest(bundle))
    require_empty(place, str(place), "to install into")
    place.mkdir(parents=True, exist_ok=True)
    wheels = sorted((bundle / WHEELS).glob("*.whl"))
    stub_only = [w for w in wheels if w.name.split("-")[0].lower() in STUB_ONLY]
    python, site_dir = _environment(place / "env", _machine_sites())
    _install_wheels([w for w in wheels if w not in stub_only], site_dir)
    stub_python, stub_site = _environment(place / "stub-env", [str(site_dir)])
    _install_wheels(stub_only, stub_site)
    try:
        with tarfile.open(bundle / SERVER_ARCHIVE) as archive:
            archive.extractall(site_dir, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise BundleError(f"unpacking {bundle / SERVER_ARCHIVE} into {site_dir}: {error}") from None
    check_environments(python, stub_python)
    return Installed(python, stub_python, time.monotonic() - started)
