"""The suites against the real bundled tritonserver on this CPU, driven as a user would drive them."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET


def test_small_variant_passes_every_check_then_ini_keys_rerun_it_from_the_export_cache(suites, pytester, small):
    result = suites(*small, "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(
        [
            "*test_bad_request_is_refused_cleanly[[]resnext-small-onnx-fp32-over_max_batch[]] PASSED*",
            "*test_outputs_match_reference[[]resnext-small-onnx-fp32[]] PASSED*",
            # The server starts at the first test that needs it; the summary says what it was.
            "triton: server 2.51.0, launch mode local, device cpu, backends python, ready in *",
            "triton: 1 deployed, 0 unsupported here, 0 failed; exports: * new, * from cache *",
        ]
    )
    # Parity figures reach JUnit XML, where CI dashboards read them.
    recorded = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    assert recorded["kind"] == "stateless"  # what the conformance suite found it to be
    properties = {name: float(value) for name, value in recorded.items() if name.startswith("b1.logits.")}
    assert "b1.logits.max_abs_diff" in properties and 0 <= properties["b1.logits.tolerance_used"] <= 1
    assert all(v < 1e-3 for k, v in properties.items() if k.endswith("max_abs_diff"))

    # The same variant named by ini keys instead of options; its export, made by the first run, comes from the cache.
    pytester.makeini(
        "[pytest]\ntestpaths = suites\njunit_family = xunit1\n"
        "triton_models = resnext-small\ntriton_formats = onnx\ntriton_precisions = fp32\n"
    )
    result = suites()
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["triton: 1 deployed, 0 unsupported here, 0 failed; exports: 0 new, 1 from cache *"])


def test_unsupported_variants_skip_with_their_reason(suites):
    result = suites("--triton-models=bert-tiny", "--triton-formats=ts-script,trt", "--triton-precisions=fp32", "-rs")
    result.assert_outcomes(passed=1, skipped=22)  # the server check passes; both variants skip
    result.stdout.fnmatch_lines(
        [
            "*bert-tiny as ts-script: transformers' BertForQuestionAnswering is not scriptable by torch.jit.script*",
            "*TensorRT plans need a GPU: run on one (--triton-gpu)*",
        ]
    )


def test_xdist_workers_get_servers_of_their_own_beside_taken_ports(suites, small):
    # Something else holds Triton's usual ports and the first ports of worker 0's range.
    held = []
    for port in (8000, 8001, 8002, 20000, 20001):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        except OSError:
            sock.close()  # already taken by someone else: just as good
    try:
        result = suites(*small, "-n", "2")
    finally:
        for sock in held:
            sock.close()
    result.assert_outcomes(passed=12)


def test_bf16_runs_where_the_runtime_serves_it_and_skips_with_the_runtimes_reason_elsewhere(suites):
    """On this CPU: TorchScript computes in bfloat16 and passes parity within bf16's tolerance; onnxruntime refuses
    bfloat16 convolutions, and its own words are the skip; ts-script cannot compile the casts."""
    result = suites(
        "--triton-models=resnext-small", "--triton-formats=ts-trace,onnx,ts-script", "--triton-precisions=bf16", "-rs"
    )
    result.assert_outcomes(passed=12, skipped=22)  # the server, and ts-trace's 11; onnx and ts-script skip 11 each
    result.stdout.fnmatch_lines_random(
        [
            "*onnx bf16 does not run on cpu here: [[]ONNXRuntimeError[]]*bfloat16*",
            "*bf16 as ts-script: torch.jit.script cannot compile the bfloat16 casts*",
        ]
    )
