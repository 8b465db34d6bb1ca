"""server.bundled: the nvidia-pytriton wheel's tritonserver made runnable, and user-given binaries."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from pytest_triton.errors import ServerStartError
from pytest_triton.server.bundled import ServerInstallation, bundled_installation, custom_installation

STUB = "triton_python_backend_stub"


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> ServerInstallation:
    return bundled_installation(tmp_path_factory.mktemp("work"))


def test_binary_is_the_wheels_executable_tritonserver(installation):
    assert installation.binary.name == "tritonserver"
    assert installation.binary.is_file()
    assert os.access(installation.binary, os.X_OK)
    assert "pytriton" in installation.binary.parts


def test_python_backend_assembled_under_work_dir(tmp_path):
    installation = bundled_installation(tmp_path)
    assert installation.backend_dir == tmp_path / "backends"
    python = tmp_path / "backends" / "python"
    names = {p.name for p in python.iterdir()}
    assert {"libtriton_python.so", STUB, "triton_python_backend_utils.py"} <= names
    assert os.access(python / STUB, os.X_OK)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    wheel_stub = installation.binary.parents[1] / "python_backend_stubs" / version / STUB
    assert (python / STUB).read_bytes() == wheel_stub.read_bytes()


def test_second_assembly_reuses_the_copies(tmp_path):
    bundled_installation(tmp_path)
    stub = tmp_path / "backends" / "python" / STUB
    before = stub.stat()
    bundled_installation(tmp_path)
    after = stub.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_truncated_copy_is_replaced(tmp_path):
    bundled_installation(tmp_path)
    library = tmp_path / "backends" / "python" / "libtriton_python.so"
    size = library.stat().st_size
    library.write_bytes(b"broken")
    bundled_installation(tmp_path)
    assert library.stat().st_size == size


def test_library_path_has_libpython_and_the_wheels_libs(installation):
    dirs = [str(p) for p in installation.library_path]
    assert any(d.endswith("nvidia_pytriton.libs") for d in dirs)
    libpython = f"libpython{sys.version_info.major}.{sys.version_info.minor}"
    assert any(any(f.name.startswith(libpython) for f in Path(d).glob("libpython*")) for d in dirs)


def test_environment_puts_this_interpreter_first_on_path(installation):
    env = installation.environment()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    # The rest of PATH is kept after it.
    assert env["PATH"].endswith(os.environ.get("PATH", ""))


def test_environment_puts_the_wheels_libs_on_ld_library_path(installation, monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/existing/lib")
    env = installation.environment()
    parts = env["LD_LIBRARY_PATH"].split(os.pathsep)
    assert parts[: len(installation.library_path)] == [str(p) for p in installation.library_path]
    assert any(p.endswith("nvidia_pytriton.libs") and Path(p).is_dir() for p in parts)
    assert parts[-1] == "/opt/existing/lib"


def test_environment_without_an_existing_ld_library_path(installation, monkeypatch):
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    parts = installation.environment()["LD_LIBRARY_PATH"].split(os.pathsep)
    assert parts == [str(p) for p in installation.library_path]


def test_environment_does_not_touch_os_environ(installation):
    before = dict(os.environ)
    env = installation.environment()
    env["PATH"] = "changed"
    assert dict(os.environ) == before


def test_custom_installation_of_an_executable(tmp_path):
    binary = tmp_path / "tritonserver"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    installation = custom_installation(binary)
    assert installation == ServerInstallation(binary=binary, backend_dir=None, library_path=())
    assert installation.environment()["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_custom_installation_missing(tmp_path):
    missing = tmp_path / "no" / "tritonserver"
    with pytest.raises(ServerStartError) as info:
        custom_installation(missing)
    assert str(missing) in str(info.value)
    assert info.value.options == ("triton_server",)


def test_custom_installation_not_executable(tmp_path):
    """No execute bit at all: os.access(X_OK) is false even for root."""
    binary = tmp_path / "tritonserver"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(ServerStartError) as info:
        custom_installation(binary)
    assert str(binary) in str(info.value)


def test_custom_installation_directory(tmp_path):
    with pytest.raises(ServerStartError) as info:
        custom_installation(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_the_python_stub_runs_in_the_environment_of_the_python_given(tmp_path):
    stub_env = tmp_path / "stub-env" / "bin"
    stub_env.mkdir(parents=True)
    python = stub_env / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    installation = bundled_installation(tmp_path / "work", stub_python=python)
    assert installation.environment()["PATH"].split(os.pathsep)[0] == str(stub_env)


def test_a_stub_python_that_is_not_there_is_named(tmp_path):
    with pytest.raises(ServerStartError, match="no python interpreter there") as refused:
        bundled_installation(tmp_path, stub_python=tmp_path / "missing" / "python")
    assert refused.value.options == ("triton_stub_python",)
