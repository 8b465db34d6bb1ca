"""What the GPU machine must offer, each lack named with what to do: its processor, C library, Python and pip before
anything is written, then, once the bundle is installed, what each environment imports."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.errors import BundleError
from pytest_triton.offline.commands import run_json

# What pytest's process imports first among the carried and the machine's packages; a failure here names the package
# and its own words (protobuf or grpcio older than tritonclient's generated code, say) before any test runs.
PYTEST_IMPORTS = (
    "tritonclient.grpc", "tritonclient.grpc.aio", "tritonclient.http", "jsonschema", "matplotlib", "transformers",
    "torch", "onnxruntime", "pytest_triton.session",
)  # fmt: skip
# What the python runner imports inside the server's stub.
STUB_IMPORTS = ("numpy", "torch", "onnxruntime", "pytest_triton.export.formats")
_IMPORTING = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as error:
        lines = [line for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
        failed[name] = f"{type(error).__name__}: {lines[-1][:300]}"
print(json.dumps(failed))
"""
# In the stub's environment: its numpy, and the shared libpython the stub embeds.
_STUB_FACTS = """
import json, os, sysconfig, numpy
library = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("INSTSONAME") or "")
print(json.dumps({"numpy": numpy.__version__, "libpython": library, "found": os.path.isfile(library)}))
"""
# The project's requirements the bundle does not carry and the machine must have, by name. The bundle carries
# nvidia-pytriton's server, not the distribution; onnx and onnxscript are optional (gpu_run.coverage).
_NAMES = """
import importlib.metadata as m, json, re
names = [re.split(r"[ ;<>=!~\\[]", r)[0] for r in m.requires("pytest-triton") or [] if "extra ==" not in r]
missing = []
for name in names:
    if name in ("nvidia-pytriton", "onnx", "onnxscript"):
        continue
    try:
        m.version(name)
    except m.PackageNotFoundError:
        missing.append(name)
print(json.dumps(missing))
"""


def _glibc() -> tuple[int, ...] | None:
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.39"
    except (ValueError, OSError):
        return None
    name, _, version = found.partition(" ")
    return tuple(int(part) for part in version.split(".")[:2]) if name == "glibc" else None


def check_machine(manifest: Mapping[str, Any]) -> None:
    """This machine can take the bundle: the same Python minor version, processor and a C library as new as the
    server needs, with pip and lzma in its Python."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if manifest.get("python") != here:
        raise BundleError(
            f"the bundle is for Python {manifest.get('python')}, and {sys.executable} is Python {here}: run with that "
            f"Python (PYTHON=/path/to/python{manifest.get('python')} ./dev gpu ...), or build the bundle with "
            f"--python {here}"
        )
    if platform.machine() != manifest.get("machine"):
        raise BundleError(f"the bundle is for {manifest.get('machine')} machines; this one is {platform.machine()}")
    needed = tuple(manifest.get("glibc", ()))
    glibc = _glibc()
    if glibc is None or glibc < needed:
        found = ".".join(map(str, glibc)) if glibc else "none"
        raise BundleError(
            f"the bundled tritonserver needs glibc {'.'.join(map(str, needed))} or newer (Ubuntu 22.04 and later); "
            f"this machine has {found}"
        )
    for module, remedy in (("pip", "install pip for it"), ("lzma", "use a Python built with liblzma")):
        if importlib.util.find_spec(module) is None:
            raise BundleError(f"{sys.executable} has no {module} module, which the install needs: {remedy}")


def _failed_imports(python: Path, modules: tuple[str, ...]) -> dict[str, str]:
    return run_json([str(python), "-c", _IMPORTING, *modules], f"importing in {python}")


def check_environments(python: Path, stub_python: Path) -> None:
    """Everything the suites import works in pytest's environment and the stub's, whose numpy is below 2 and whose
    Python has the shared library the stub embeds."""
    missing = run_json([str(python), "-c", _NAMES], "checking the project's requirements")
    if missing:
        raise BundleError(
            f"this machine lacks {', '.join(missing)}, which pytest-triton needs and the bundle does not carry: "
            "install them on the machine, or add them to CARRIED in pytest_triton/offline/bundle.py and bundle again"
        )
    for label, env, modules in (("pytest's", python, PYTEST_IMPORTS), ("the python stub's", stub_python, STUB_IMPORTS)):
        failed = _failed_imports(env, modules)
        if failed:
            named = "; ".join(f"{module}: {error}" for module, error in failed.items())
            raise BundleError(f"in {label} environment, with the machine's packages: {named}")
    facts = run_json([str(stub_python), "-c", _STUB_FACTS], "asking the stub's environment")
    if not facts["numpy"].startswith("1."):
        raise BundleError(f"the python stub's numpy is {facts['numpy']}; it must be below 2: bundle again")
    if not facts["found"]:
        raise BundleError(
            f"the python stub embeds {facts['libpython'] or 'libpython'}, which this Python lacks (built without "
            "--enable-shared?): install its shared library (apt-get install libpython3.N) or use a Python with it"
        )
