"""Consistency: with no reference model at all, a deployment answers a request the same way every time, and a row
the same way whether it comes alone, inside a batch, or merged by the dynamic batcher with concurrent requests."""

from __future__ import annotations

from pytest_triton.checks.consistency import batching_invariant, repeated_request_identical
from pytest_triton.outcomes import triton_outcome, triton_verdict


def test_same_request_same_answer(triton_session, triton_deployment):
    with triton_outcome():
        result = repeated_request_identical(triton_session.client, triton_deployment)
    triton_verdict(result.ok, result.report, server_log=True)


def test_batched_rows_match_rows_alone(triton_session, triton_deployment, triton_settings, record_property):
    with triton_outcome():
        result, (inferences, executions) = batching_invariant(
            triton_session.client, triton_deployment, triton_settings.tolerances
        )
    record_property("concurrent_inferences", inferences)
    record_property("concurrent_executions", executions)
    triton_verdict(result.ok, result.report, server_log=True)
