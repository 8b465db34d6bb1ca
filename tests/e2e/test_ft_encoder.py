"""FasterTransformer's BERT encoder contract, served by the bundled server on this CPU: parity with transformers'
encoder layers over rows of varied lengths, positions past a row's length left out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest


@pytest.mark.parametrize("suite_files", [("test_parity.py", "test_consistency.py")])
def test_the_encoder_contract_matches_the_encoder_layers_in_fp32_and_fp16(suites, pytester):
    result = suites(
        "--triton-models=bert-encoder-tiny", "--triton-formats=onnx", "--triton-precisions=fp32,fp16",
        "--junitxml=junit.xml",
    )  # fmt: skip
    result.assert_outcomes(passed=6)  # parity, and the two consistency checks, per precision
    parity = {
        case.get("name"): {p.get("name"): float(p.get("value")) for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
        if case.get("name", "").startswith("test_outputs_match_reference")
    }
    fp32 = parity["test_outputs_match_reference[bert-encoder-tiny-onnx-fp32]"]
    fp16 = parity["test_outputs_match_reference[bert-encoder-tiny-onnx-fp16]"]
    # The FasterTransformer identity test's figures, per sample case: abs max diff and abs mean diff.
    assert "b4-s128-lengths.output_hidden_state.max_abs_diff" in fp32
    assert max(v for k, v in fp32.items() if k.endswith("max_abs_diff")) < 1e-4
    assert 0 < max(v for k, v in fp16.items() if k.endswith("mean_abs_diff")) < 1e-2
