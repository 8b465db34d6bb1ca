"""server.local: a real tritonserver (the wheel's) started and stopped, and fake binaries for the failure paths.

The fake binaries are shell scripts handed in through custom_installation: they are real processes
that exit, hang, or leave a child behind, which is what LocalServer has to cope with.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pytest_triton.errors import ServerStartError
from pytest_triton.models.spec import TensorSpec
from pytest_triton.repository.config import build_config, to_pbtxt
from pytest_triton.server.bundled import bundled_installation, custom_installation
from pytest_triton.server.client import TritonClient
from pytest_triton.server.local import LocalServer
from pytest_triton.server.ports import _FIRST_PORT, _PORTS_PER_WORKER

WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)

IDENTITY_MODEL = textwrap.dedent(
    """
    import triton_python_backend_utils as pb_utils


    class TritonPythonModel:
        def execute(self, requests):
            return [
                pb_utils.InferenceResponse([pb_utils.Tensor("y", pb_utils.get_input_tensor_by_name(r, "x").as_numpy())])
                for r in requests
            ]
    """
)


# -- helpers ------------------------------------------------------------------------------------


def processes_mentioning(text: str) -> list[int]:
    """Live (not zombie) processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def listening_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                # Each 32-bit word is in host (little-endian) byte order.
                raw = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8))
                ip = ipaddress.ip_address(raw)
                found.add(str(getattr(ip, "ipv4_mapped", None) or ip))
    return found


def server_pid(repository: Path) -> int:
    """The tritonserver serving `repository` (its python stubs name the model directory, not this flag)."""
    (pid,) = processes_mentioning(f"--model-repository={repository} ")  # args are joined with spaces
    return pid


def port_of(url: str) -> int:
    return int(url.rpartition(":")[2])


def fake_binary(directory: Path, body: str) -> Path:
    script = directory / "fake-tritonserver"
    script.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return script


def place_identity(repository: Path, name: str = "identity") -> None:
    config = build_config(
        name, (TensorSpec("x", "float32", (4,)),), (TensorSpec("y", "float32", (4,)),), 8, backend="python"
    )
    (repository / name / "1").mkdir(parents=True)
    (repository / name / "1" / "model.py").write_text(IDENTITY_MODEL)
    (repository / name / "config.pbtxt").write_text(to_pbtxt(config))


# -- a real server, shared by the read-only checks ----------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("triton")
    server = LocalServer(bundled_installation(work), work / "repository", work / "logs", worker_index=WORKER)
    endpoint = server.start()
    try:
        yield server, endpoint
    finally:
        server.stop()


def test_endpoint_is_on_the_loopback_in_the_workers_range(served):
    server, endpoint = served
    assert endpoint.launch_mode == "local"
    assert endpoint.protocols == ("grpc", "http")
    ports = set()
    for url in (endpoint.grpc_url, endpoint.http_url):
        host, _, port = url.rpartition(":")
        assert host == "127.0.0.1"
        ports.add(int(port))
    assert len(ports) == 2
    start = _FIRST_PORT + WORKER * _PORTS_PER_WORKER
    assert all(start <= p < start + _PORTS_PER_WORKER for p in ports)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_server_is_ready_over_both_protocols(served, protocol):
    _, endpoint = served
    with TritonClient(endpoint, protocol) as client:
        assert client.is_live()
        assert client.is_ready()
        assert client.repository_index() == []  # explicit model control: nothing loaded by itself


def test_every_service_listens_on_the_loopback_only(served):
    server, endpoint = served
    started = re.findall(r"Started ([\w ]+?) at ([\d.]+):(\d+)", server.log_tail(200))
    assert {name for name, _, _ in started} == {"GRPCInferenceService", "HTTPService", "Metrics Service"}
    for _, address, port in started:
        assert address == "127.0.0.1"
        assert listening_addresses(int(port)) == {"127.0.0.1"}
    assert {int(p) for _, _, p in started} >= {port_of(endpoint.grpc_url), port_of(endpoint.http_url)}


def test_log_is_readable_while_running(served):
    server, endpoint = served
    assert server.log_path is not None and server.log_path.is_file()
    assert server.log_path.name == f"tritonserver-{port_of(endpoint.http_url)}.log"
    tail = server.log_tail()
    assert "Started GRPCInferenceService" in tail
    short = server.log_tail(lines=2)
    assert len(short.splitlines()) <= 2
    assert tail.endswith(short)


def test_models_explicit_control_and_cpu_only_arguments(served):
    server, _ = served
    pid = server_pid(server.repository)
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert "--model-control-mode=explicit" in args
    assert f"--backend-directory={server.installation.backend_dir}" in args
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"CUDA_VISIBLE_DEVICES=" in environ  # empty: the server sees no GPU


# -- a whole life cycle, with a python model, in one test ---------------------------------------


def test_start_serve_stop_leaves_no_process_and_no_shared_memory(tmp_path):
    repository = tmp_path / "repository"
    place_identity(repository)
    server = LocalServer(bundled_installation(tmp_path), repository, tmp_path / "logs", worker_index=WORKER)
    endpoint = server.start()
    try:
        with TritonClient(endpoint, "grpc") as client:
            client.load_model("identity")
            assert client.is_model_ready("identity")
            x = np.arange(8, dtype=np.float32).reshape(2, 4)
            np.testing.assert_array_equal(client.infer("identity", {"x": x}, ["y"])["y"], x)
        with TritonClient(endpoint, "http") as client:
            assert client.is_ready()
        # Server and python stub both run, and the stub's shared memory carries this server's prefix.
        running = processes_mentioning(str(repository))
        assert len(running) >= 2, "the server and its python stub"
        args = Path(f"/proc/{server_pid(repository)}/cmdline").read_bytes().decode().split("\0")
        (prefix_arg,) = [a for a in args if "shm-region-prefix-name=" in a]
        prefix = prefix_arg.partition("shm-region-prefix-name=")[2]
        assert prefix.startswith(f"pytest_triton_{os.getpid()}_")
        assert list(Path("/dev/shm").glob(f"{prefix}*")), "the python backend made its regions"
    finally:
        server.stop()
    assert wait_until(lambda: not processes_mentioning(str(repository)), timeout=5), "server or stub outlived stop()"
    assert not list(Path("/dev/shm").glob(f"{prefix}*"))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port_of(endpoint.grpc_url)), timeout=1).close()
    # The log stays readable after stop, with the model's load in it.
    assert "successfully loaded 'identity'" in server.log_tail(200)
    server.stop()  # twice is harmless


# -- fake binaries ------------------------------------------------------------------------------


def test_binary_that_exits_at_once_fails_fast_with_its_log(tmp_path):
    binary = fake_binary(
        tmp_path,
        """
        echo "error: libfoo.so.3: cannot open shared object file" >&2
        echo "tritonserver giving up"
        exit 1
    """,
    )
    server = LocalServer(custom_installation(binary), tmp_path / "repo", tmp_path / "logs", start_timeout=60)
    began = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        server.start()
    assert time.monotonic() - began < 10, "must not wait for the start timeout"
    message = str(info.value)
    assert "exited with code 1" in message
    assert "libfoo.so.3: cannot open shared object file" in message  # stderr is in the log too
    assert "tritonserver giving up" in message
    assert str(server.log_path) in message
    assert "tritonserver giving up" in server.log_tail()
    assert (tmp_path / "repo").is_dir()  # start() creates the repository directory


def test_arguments_and_environment_given_to_the_binary(tmp_path, monkeypatch):
    record = tmp_path / "record"
    binary = fake_binary(
        tmp_path,
        f"""
        for arg in "$@"; do echo "$arg"; done > {record}.args
        echo "$CUDA_VISIBLE_DEVICES" > {record}.gpus
        echo "$PATH" > {record}.path
        exit 3
    """,
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,2,3")
    server = LocalServer(
        custom_installation(binary),
        tmp_path / "repo",
        tmp_path / "logs",
        gpus=(1, 2),
        extra_args=("--log-verbose=1",),
        stop_timeout=10,
    )
    with pytest.raises(ServerStartError, match="exited with code 3"):
        server.start()
    args = Path(f"{record}.args").read_text().splitlines()
    assert f"--model-repository={tmp_path / 'repo'}" in args
    assert "--model-control-mode=explicit" in args
    assert "--http-address=127.0.0.1" in args and "--grpc-address=127.0.0.1" in args
    assert "--strict-readiness=false" in args
    assert "--exit-timeout-secs=5" in args
    ports = [int(a.partition("=")[2]) for a in args if re.match(r"--(http|grpc|metrics)-port=", a)]
    assert len(set(ports)) == 3
    assert any(a.startswith("--backend-config=python,shm-region-prefix-name=pytest_triton_") for a in args)
    assert not any(a.startswith("--backend-directory") for a in args)  # a custom server uses its own backends
    assert args[-1] == "--log-verbose=1"
    # With GPUs the server sees this process's devices, so the indices in model configs mean the same.
    assert Path(f"{record}.gpus").read_text().strip() == "1,2,3"


def test_cpu_server_sees_no_gpu_even_when_this_process_does(tmp_path, monkeypatch):
    record = tmp_path / "gpus"
    binary = fake_binary(
        tmp_path,
        f"""
        printf '%s' "${{CUDA_VISIBLE_DEVICES-unset}}" > {record}
        exit 3
    """,
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    server = LocalServer(custom_installation(binary), tmp_path / "repo", tmp_path / "logs")
    with pytest.raises(ServerStartError):
        server.start()
    assert record.read_text() == ""  # set, and empty


def test_address_in_use_is_retried_on_other_ports(tmp_path):
    runs = tmp_path / "runs"
    binary = fake_binary(
        tmp_path,
        f"""
        echo "$@" >> {runs}
        echo "E: failed to start HTTP service: Address already in use"
        exit 1
    """,
    )
    server = LocalServer(custom_installation(binary), tmp_path / "repo", tmp_path / "logs", worker_index=WORKER)
    with pytest.raises(ServerStartError) as info:
        server.start()
    assert "could not bind free ports in 3 tries" in str(info.value)
    assert "Address already in use" in str(info.value)
    tries = runs.read_text().splitlines()
    assert len(tries) == 3
    # Each try asks free_ports for ports further on (skip=3*attempt); with the low ports of the range in
    # use they can still be the same ports (see test_ports.py::test_skip_moves_past_earlier_tries).
    first_http = [int(re.search(r"--http-port=(\d+)", t).group(1)) for t in tries]
    assert first_http == sorted(first_http)
    assert len(list((tmp_path / "logs").iterdir())) == len(set(first_http))


def test_a_port_taken_while_the_server_keeps_running_is_retried_not_waited_on(tmp_path):
    """Triton may say a port is taken and run on (its HTTP service down): the health check would then reach whoever
    holds the port, and seen once in CI, another worker's server answered ready for it."""
    runs = tmp_path / "runs"
    binary = fake_binary(
        tmp_path,
        f"""
        echo "$@" >> {runs}
        echo "E main.cc:257] failed to start HTTP service: Unavailable - Socket '127.0.0.1:1' already in use"
        exec sleep 300
    """,
    )
    server = LocalServer(
        custom_installation(binary), tmp_path / "repo", tmp_path / "logs", worker_index=WORKER, start_timeout=30
    )
    # Each try ends when the log says a port is taken; waiting on the health check would end in "not ready".
    with pytest.raises(ServerStartError, match="could not bind free ports in 3 tries"):
        server.start()
    assert len(runs.read_text().splitlines()) == 3


def test_binary_that_never_gets_ready_times_out_and_is_stopped(tmp_path):
    pids = tmp_path / "pids"
    binary = fake_binary(
        tmp_path,
        f"""
        sleep 300 &
        echo $! >> {pids}
        echo $$ >> {pids}
        echo "starting, slowly"
        exec sleep 300
    """,
    )
    server = LocalServer(
        custom_installation(binary), tmp_path / "repo", tmp_path / "logs", start_timeout=1, stop_timeout=5
    )
    began = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        server.start()
    assert time.monotonic() - began < 15
    assert "not ready after 1 s" in str(info.value)
    assert info.value.options == ("triton_start_timeout",)  # the plugin adds its flag
    assert "starting, slowly" in str(info.value)
    child, main = (int(p) for p in pids.read_text().split())
    # The server and the child it left in its process group are both gone.
    assert wait_until(lambda: not alive(main) and not alive(child), timeout=5)
