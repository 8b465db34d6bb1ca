"""Parity: every served variant against the in-process eager PyTorch fp32 reference on seeded inputs."""

from __future__ import annotations

from pytest_triton.checks.parity import compare
from pytest_triton.checks.payload import reference_outputs, served_inputs, spec_outputs


def test_outputs_match_reference(triton_session, triton_deployment, triton_settings, record_property):
    deployment = triton_deployment
    tolerance = triton_settings.tolerances[deployment.precision]
    module = triton_session.reference(deployment.spec)
    names = [t.name for t in deployment.outputs]
    failures, rows = [], []
    for case in deployment.spec.make_samples():
        expected = reference_outputs(module, deployment.spec, case.inputs, triton_settings.device)
        served = triton_session.client.infer(deployment.model_name, served_inputs(deployment, case.inputs), names)
        for diff in compare(spec_outputs(deployment, served), expected):
            row = f"{case.label:>16} {diff.output:>14}: max_abs {diff.max_abs:.3g} mean_abs {diff.mean_abs:.3g} max_rel {diff.max_rel:.3g}"
            rows.append(row)
            record_property(f"{case.label}.{diff.output}.max_abs_diff", diff.max_abs)
            record_property(f"{case.label}.{diff.output}.mean_abs_diff", diff.mean_abs)
            record_property(f"{case.label}.{diff.output}.max_rel_diff", diff.max_rel)
            if not diff.within(tolerance):
                failures.append(row)
    assert not failures, (
        f"{deployment.model_name} differs from the eager fp32 reference beyond {deployment.precision} tolerance "
        f"(max_abs {tolerance.max_abs}, mean_abs {tolerance.mean_abs}):\n" + "\n".join(failures)
    )
    assert rows, "no sample case was compared"
