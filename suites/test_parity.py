"""Parity: every served variant against the in-process eager PyTorch fp32 reference on seeded inputs."""

from __future__ import annotations

from pytest_triton.checks.payload import sample_diffs


def test_outputs_match_reference(triton_session, triton_deployment, triton_settings, record_property):
    deployment = triton_deployment
    module = triton_session.reference(deployment.spec)
    diffs = sample_diffs(
        triton_session.client, deployment, module, triton_settings.device, triton_settings.tolerances
    )
    for case, diff in diffs:
        prefix = f"{case.label}.{diff.output}"
        record_property(f"{prefix}.max_abs_diff", diff.max_abs)
        record_property(f"{prefix}.mean_abs_diff", diff.mean_abs)
        record_property(f"{prefix}.max_rel_diff", diff.max_rel)
        record_property(f"{prefix}.tolerance_used", round(diff.bound_used, 4))
    failures = [diff.row(case.label) for case, diff in diffs if not diff.within]
    assert diffs, "no sample case was compared"
    assert not failures, (
        f"{deployment.model_name} differs from the eager fp32 reference beyond {deployment.precision} tolerance:\n"
        + "\n".join(failures)
    )
