"""Docker launch mode (testcontainers). Real containers need a Docker engine and a pullable Triton image;
where none answers (this project's CI) the run test skips and says so, and the absence itself is tested."""

from __future__ import annotations

import pytest

from pytest_triton.errors import ServerStartError
from pytest_triton.server.docker import docker_client


def _engine_error() -> str | None:
    try:
        docker_client()
    except ServerStartError as error:
        return str(error)
    return None


def test_without_an_engine_the_run_stops_with_advice(suites):
    if _engine_error() is None:
        pytest.skip("a Docker engine answers here; this test covers a machine without one")
    result = suites("--triton-launch-mode=docker")
    assert result.ret == 1
    result.assert_outcomes(errors=1)  # the server starts at the first test that needs one; the run stops there
    result.stdout.fnmatch_lines(
        [
            "! pytest-triton: docker mode: no Docker engine answers here*"
            "start Docker, or use the default local mode (--triton-launch-mode) !"
        ]
    )


def test_suites_pass_in_a_triton_container(suites, small):
    reason = _engine_error()
    if reason is not None:
        pytest.skip(f"the docker launch mode needs a Docker engine and the Triton image; here: {reason}")
    result = suites(*small, "--triton-launch-mode=docker", "--triton-start-timeout=600", timeout=1800)
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["triton: server *, launch mode docker, device cpu, backends *onnxruntime*"])
