"""Conformance: the server is healthy, each model is served as exported, and bad requests fail cleanly."""

from __future__ import annotations

import pytest

from pytest_triton.checks.conformance import (
    BAD_REQUESTS,
    bad_request_refused,
    config_matches_signature,
    metadata_matches_signature,
    protocols_agree,
    responses_match_config,
)
from pytest_triton.checks.model_kind import kind_contract
from pytest_triton.outcomes import triton_outcome, triton_verdict


def test_server_live_and_ready(triton_session):
    client = triton_session.client
    assert client.is_live()
    assert client.is_ready()
    assert triton_session.facts.version, "the server reported no version"


def test_model_ready(triton_session, triton_deployment):
    assert triton_session.client.is_model_ready(triton_deployment.model_name)


def test_metadata_matches_signature(triton_session, triton_deployment):
    result = metadata_matches_signature(triton_session.client, triton_deployment)
    triton_verdict(result.ok, result.report)


def test_config_matches_signature(triton_session, triton_deployment):
    result = config_matches_signature(triton_session.client, triton_deployment)
    triton_verdict(result.ok, result.report)


def test_responses_match_config(triton_session, triton_deployment):
    with triton_outcome():
        result = responses_match_config(triton_session.client, triton_deployment)
    triton_verdict(result.ok, result.report, server_log=True)


def test_grpc_and_http_agree(triton_session, triton_deployment):
    with triton_outcome():
        result = protocols_agree(triton_session.client, triton_deployment)
    triton_verdict(result.ok, result.report, server_log=True)


def test_served_as_its_kind(triton_session, triton_deployment, record_property):
    """Sequence models refuse requests outside a sequence, decoupled models end every stream with the final flag,
    ensembles equal their steps run in turn, and every model answers over a gRPC stream as it answers alone."""
    with triton_outcome():
        found = kind_contract(triton_session.client, triton_deployment)
    record_property("kind", triton_deployment.kind.describe())
    for times in found.times:
        record_property(f"{times.label}.responses", times.responses)
        if times.first_s is not None:
            record_property(f"{times.label}.first_response_ms", round(times.first_s * 1000, 3))
        if times.gaps_s:
            record_property(f"{times.label}.between_responses_max_ms", round(max(times.gaps_s) * 1000, 3))
    for reason in found.not_checked:
        record_property("not_checked", reason)
    triton_verdict(found.result.ok, found.result.report, server_log=True)


@pytest.mark.parametrize("bad_request", BAD_REQUESTS, ids=lambda bad: bad.name)
def test_bad_request_is_refused_cleanly(triton_session, triton_deployment, bad_request):
    with triton_outcome():
        result = bad_request_refused(triton_session.client, triton_deployment, bad_request)
    triton_verdict(result.ok, result.report, server_log=True)
