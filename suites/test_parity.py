"""Parity: every served variant against the in-process eager PyTorch fp32 reference on seeded inputs."""

from __future__ import annotations

from pytest_triton.checks.payload import sample_diffs
from pytest_triton.outcomes import triton_outcome


def test_outputs_match_reference(triton_session, triton_deployment, triton_settings, record_property):
    deployment = triton_deployment
    module = triton_session.reference(deployment.spec)
    with triton_outcome():
        result = sample_diffs(
            triton_session.client, deployment, module, triton_settings.device, triton_settings.tolerances
        )
    for label, diff in result.diffs:
        prefix = f"{label}.{diff.output}"
        record_property(f"{prefix}.max_abs_diff", diff.max_abs)
        record_property(f"{prefix}.mean_abs_diff", diff.mean_abs)
        record_property(f"{prefix}.max_rel_diff", diff.max_rel)
        record_property(f"{prefix}.tolerance_used", round(diff.bound_used, 4))
    assert result.ok, result.report()
