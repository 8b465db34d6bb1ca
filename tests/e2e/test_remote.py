"""Remote mode: the suites check a server someone else runs, deployed with the library alone (no pytest)."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from pytest_triton.models.zoo import zoo_spec
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings

# Servers this module starts search the ports of this xdist worker, as the suites' servers do.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)

# The served model's name is the spec's name; a user points a spec of their own at it like this.
CONFTEST = """
import dataclasses
from pytest_triton.models.zoo import zoo_spec

def pytest_triton_models(config):
    return [dataclasses.replace(zoo_spec("resnext-small"), name="resnext-small-onnx-fp32")]
"""


@pytest.fixture(scope="module")
def running_server(tmp_path_factory: pytest.TempPathFactory):
    """A Triton server started and filled by the library, as a deployment pipeline would."""
    work = tmp_path_factory.mktemp("remote")
    session = TritonSession(Settings(), work_dir=work, cache_dir=work / "exports", worker_index=WORKER)
    session.start()
    try:
        session.deployment(zoo_spec("resnext-small"), "onnx", "fp32")
        yield session.endpoint
    finally:
        session.close()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_suites_check_a_served_model(suites, pytester, running_server, protocol):
    pytester.makeconftest(CONFTEST)
    url = running_server.url(protocol)
    result = suites(
        f"--triton-url={url}",
        f"--triton-protocol={protocol}",
        "--triton-models=resnext-small-onnx-fp32",
        "--triton-header=Authorization=Bearer s3cret-token",
        "-rs",
    )
    result.assert_outcomes(passed=11, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "triton: server 2.51.0, launch mode remote at *, device cpu, backends unknown (not our server)*",
            "*only one protocol's address is known for this server*",
        ]
    )
    assert "s3cret-token" not in result.stdout.str() + result.stderr.str()


def test_a_model_the_server_lacks_is_a_clear_failure(suites, pytester, running_server):
    pytester.makeconftest(CONFTEST.replace('name="resnext-small-onnx-fp32"', 'name="not-deployed"'))
    result = suites(f"--triton-url={running_server.grpc_url}", "--triton-models=not-deployed")
    result.assert_outcomes(passed=1, errors=1, skipped=10)  # its first test fails; the others point at it
    result.stdout.fnmatch_lines(["*model 'not-deployed' is not ready on 127.0.0.1:*; deploy it there*"])


# No `measures` turn: remote mode has no calibration check, and nothing here compares a figure with an answer.
@pytest.mark.parametrize("suite_files", [("test_perf.py",)])
@pytest.mark.parametrize(
    ("protocol", "hardware", "scope"),
    [("grpc", None, "remote-127-0-0-1"), ("http", "cpu-test-node", "cpu-test-node")],
)
def test_perf_measures_the_served_model_and_files_baselines_under_the_servers_host_or_named_hardware(
    suites, pytester, running_server, protocol, hardware, scope
):
    pytester.makeconftest(CONFTEST)
    baselines = pytester.path / "baselines"
    result = suites(
        f"--triton-url={protocol}://{running_server.url(protocol)}",
        *([f"--triton-hardware={hardware}"] if hardware else []),
        "--triton-models=resnext-small-onnx-fp32",
        "--update-baselines",
        f"--triton-baselines-dir={baselines}",
        "--triton-perf-batch-sizes=1",
        "--triton-perf-concurrency=1",
        "--triton-perf-stability=50",
        "--triton-perf-max-steal=100",
        "-rs",  # recorded even beside the other xdist worker
    )
    # The calibration model can only be deployed where the run manages models; the served model is measured.
    result.assert_outcomes(passed=1, skipped=1)
    named = "as --triton-hardware names it" if hardware else "by host: name its hardware with --triton-hardware"
    result.stdout.fnmatch_lines([f"triton: the remote server's perf baselines are filed under {scope} ({named})"])
    stored = json.loads((baselines / scope / "perf.json").read_text())
    # The model's first requests since the server loaded it are timed too (/cold), where no test sent any before.
    served = "resnext-small-onnx-fp32-served-fp32-b1"
    assert f"{served}/c1" in stored["entries"] and set(stored["entries"]) <= {f"{served}/c1", f"{served}/cold"}
    assert stored.get("hardware") is None  # this machine's hardware says nothing about the server's


# Both sides' speed, side by side on two servers: under xdist it takes its turn alone.
@pytest.mark.measures
@pytest.mark.parametrize("suite_files", [("test_perf.py",)])
def test_a_deployment_is_measured_against_the_same_model_on_a_server_that_runs(suites, pytester, running_server):
    url = f"grpc://{running_server.grpc_url}"
    result = suites(
        "--triton-models=resnext-small",
        "-k",
        "throughput_and_latency",
        f"--triton-perf-against={url}",
        "--triton-perf-against-model=resnext-small=resnext-small-onnx-fp32",  # served there under its variant's name
        "--junitxml=junit.xml",
    )
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [f"triton perf against {url}: 1 load points: *", "resnext-small-*/c1*throughput*x [[]*"]
    )
    properties = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    verdicts = {properties[f"c1.vs_baseline.{figure}"] for figure in ("throughput", "p50", "p99")}
    # The same files on another server: whatever the verdict, the test's outcome follows it.
    result.assert_outcomes(**({"failed": 1} if "regressed" in verdicts else {"passed": 1}))
    assert "answers differ" not in output


@pytest.mark.parametrize("suite_files", [("test_conformance.py", "test_parity.py", "test_consistency.py")])
def test_served_models_are_found_and_checked_against_golden_outputs_without_torch(
    suites, heavy_imports, running_server, small, tmp_path
):
    golden = tmp_path / "golden"
    suites(*small, "-k", "parity", f"--triton-save-golden={golden}").assert_outcomes(passed=1)
    # The server serves the model under its variant's name: the golden directory is renamed to match.
    shutil.copytree(golden / "resnext-small", golden / "resnext-small-onnx-fp32")
    result = suites(f"--triton-url={running_server.grpc_url}", f"--triton-golden={golden}", "-v", "-rs")
    result.assert_outcomes(passed=13, skipped=1)
    result.stdout.fnmatch_lines_random(
        [
            "*test_outputs_match_reference[[]resnext-small-onnx-fp32-served-fp32[]] PASSED*",
            "*test_batched_rows_match_rows_alone[[]resnext-small-onnx-fp32-served-fp32[]] PASSED*",
        ]
    )
    assert heavy_imports() == []


def test_a_server_that_serves_nothing_says_so(suites, tmp_path):
    session = TritonSession(Settings(), work_dir=tmp_path, cache_dir=tmp_path / "exports", worker_index=WORKER)
    session.start()
    try:
        result = suites(f"--triton-url={session.endpoint.grpc_url}")
    finally:
        session.close()
    result.assert_outcomes(errors=2)  # one per suite module, each with the message alone
    result.stdout.fnmatch_lines(
        ["pytest-triton: the server at grpc://127.0.0.1:* serves no ready model; load one there, or name the models*"]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("suite_files", [("test_conformance.py",)])
def test_a_servers_grpc_and_http_addresses_are_compared_there(suites, pytester, running_server):
    pytester.makeconftest(CONFTEST)
    grpc, http = running_server.grpc_url, running_server.http_url
    result = suites(
        f"--triton-url=grpc://{grpc}", f"--triton-url=http://{http}", "--triton-models=resnext-small-onnx-fp32"
    )
    result.assert_outcomes(passed=11)  # gRPC against HTTP runs too
    result.stdout.fnmatch_lines([f"triton: server 2.51.0, launch mode remote at grpc://{grpc} and http://{http}, *"])


@pytest.mark.parametrize("suite_files", [("test_conformance.py",)])
def test_a_fleet_is_checked_by_one_worker_per_server(suites, pytester, running_server):
    # Two names of one server make a fleet of two here: each worker checks the one its address names.
    port = running_server.grpc_url.rpartition(":")[2]
    pytester.makeconftest(CONFTEST)
    fleet = pytester.path / "fleet.txt"
    fleet.write_text(f"127.0.0.1:{port}\nlocalhost:{port}  # the second node\n")
    urls = (f"--triton-url=@{fleet}", "--triton-models=resnext-small-onnx-fp32")
    refused = suites(*urls)
    refused.stderr.fnmatch_lines(["ERROR: --triton-url names 2 servers (*): * run with -n 2 --dist each"])
    result = suites(*urls, "-n", "2", "--dist", "each")
    result.assert_outcomes(passed=20, skipped=2)  # every test on each server
    result.stdout.fnmatch_lines_random(
        [
            f"triton: server 2.51.0, launch mode remote at grpc://127.0.0.1:{port}, *",
            f"triton: server 2.51.0, launch mode remote at grpc://localhost:{port}, *",
        ]
    )


def test_a_fleet_server_that_does_not_answer_fails_its_worker_and_the_others_run(suites, running_server):
    result = suites(
        f"--triton-url={running_server.grpc_url}",
        "--triton-url=127.0.0.1:9",
        "--triton-start-timeout=2",
        "-n",
        "2",
        "--dist",
        "each",
        timeout=120,
    )
    # The answering server's worker runs every test of its one served model (parity skips: no reference, no
    # golden outputs; gRPC against HTTP skips: one address); every test of the other's worker errors with the reason.
    result.assert_outcomes(passed=10, skipped=2, errors=12)
    result.stdout.fnmatch_lines(
        ["*pytest-triton: the server at 127.0.0.1:9: not ready after 2 s*", "grpc://127.0.0.1:9"]
    )
