"""Parity: every served variant against the in-process eager PyTorch fp32 reference on seeded inputs, or against
golden outputs saved by an earlier run (--triton-golden), which needs no PyTorch and no model code.

Recorded per sample case and output, as FasterTransformer's identity test prints them: abs max diff, abs mean diff,
and the execution time of the served request (the client's round trip) beside the reference's; a served model's
own config parameters (FasterTransformer's tensor_para_size, pipeline_para_size, data_type, is_remove_padding) too."""

from __future__ import annotations

from pytest_triton.checks.golden import load_golden, save_golden
from pytest_triton.checks.payload import parity_diffs, reference_cases, spec_tolerances
from pytest_triton.kinds import SERVED
from pytest_triton.outcomes import triton_outcome, triton_verdict


def test_outputs_match_reference(triton_session, triton_deployment, triton_settings, record_property):
    deployment, settings = triton_deployment, triton_settings
    reference_ms: dict[str, float] = {}
    if deployment.format == SERVED:  # its id shows the run's first precision; its config's data_type may say another
        record_property("precision", deployment.precision)
    for key, value in deployment.own_parameters().items():
        record_property(f"config.{key}", value)
    with triton_outcome():
        if settings.golden_dir is not None:
            golden = load_golden(settings.golden_dir, deployment.spec.name)
            golden.check_fits(deployment.spec)
            expected, tolerances = golden.expected, golden.tolerances_at(deployment.precision)
            against = f"the golden outputs in {golden.directory}"
        else:
            spec = deployment.spec
            reference = reference_cases(triton_session.reference(spec), spec, settings.device)
            expected, reference_ms = reference.expected, reference.milliseconds
            tolerances, against = spec_tolerances(deployment, settings.tolerances), "the eager fp32 reference"
            if settings.save_golden_dir is not None:
                digest = triton_session.weights_digest(spec)
                written = save_golden(
                    settings.save_golden_dir,
                    spec,
                    expected,
                    settings.tolerances,
                    weights_digest=digest,
                    reference=f"eager PyTorch fp32 on {settings.device}",
                )
                record_property("golden_dir", str(written))
        result = parity_diffs(triton_session.client, deployment, expected, tolerances, against)
    for label, diff in result.diffs:
        prefix = f"{label}.{diff.output}"
        record_property(f"{prefix}.max_abs_diff", diff.max_abs)
        record_property(f"{prefix}.mean_abs_diff", diff.mean_abs)
        record_property(f"{prefix}.max_rel_diff", diff.max_rel)
        record_property(f"{prefix}.tolerance_used", round(diff.used, 4))
    for label, milliseconds in result.milliseconds.items():
        record_property(f"{label}.served_ms", round(milliseconds, 3))
        if label in reference_ms:
            record_property(f"{label}.reference_ms", round(reference_ms[label], 3))
    triton_verdict(result.ok, result.report)
