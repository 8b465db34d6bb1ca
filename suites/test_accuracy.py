"""Accuracy: SQuAD EM/F1 of each served BERT variant and top-1/top-5 of each served image classifier, against the
in-process model and the stored baselines, and against the baseline deployment's on the same data where the run
has one (--triton-perf-against)."""

from __future__ import annotations

import pytest

from pytest_triton.baselines.context import ACCURACY
from pytest_triton.checks.accuracy import require_qa_model, served_accuracy
from pytest_triton.checks.classification import classifier_geometry, require_classifier, served_classification
from pytest_triton.outcomes import triton_outcome, triton_verdict
from pytest_triton.report.run import SuiteOutcome, log_outcome
from pytest_triton.squad.prediction_files import write_predictions

# The shipped tiny QA model must reach these on held-out synthetic questions, so that a swapped
# input, a broken fp16 export or a tokenization bug shows as a drop.
TINY_TARGET = {"exact_match": 80.0, "f1": 85.0}
# The shipped tiny classifier's, on held-out synthetic images: a channel swap, a transposed layout or a skipped
# normalisation each take it far below.
TINY_CLASSIFIER_TOP1 = 90.0


@pytest.mark.triton_zoo_model("bert-tiny")
def test_default_qa_model_reaches_its_target(
    triton_session, triton_models, triton_accuracy, triton_settings, record_property
):
    """The in-process model itself: only the shipped tiny model has a target."""
    spec = next((s for s in triton_models if s.name == "bert-tiny"), None)
    if spec is None or "bert-tiny" in triton_settings.checkpoints:
        pytest.skip("the target (80 EM / 85 F1) is for the shipped tiny QA model, not selected here")
    with triton_outcome():
        squad = next(s for s in triton_accuracy.sets(spec) if s.dataset.version == "1.1")
    result = triton_accuracy.reference(spec, triton_session.reference(spec), squad)
    record_property("exact_match", result.exact_match)
    record_property("f1", result.f1)
    reached = result.exact_match >= TINY_TARGET["exact_match"] and result.f1 >= TINY_TARGET["f1"]
    target = f"{TINY_TARGET['exact_match']:g} EM / {TINY_TARGET['f1']:g} F1"
    triton_verdict(reached, lambda: f"{result.exact_match:.2f} EM / {result.f1:.2f} F1: below the target {target}")


def test_squad_through_triton(
    triton_session,
    triton_deployment,
    triton_accuracy,
    triton_baselines,
    triton_results,
    triton_report_dir,
    record_property,
):
    deployment = triton_deployment
    spec = deployment.spec
    context = triton_baselines.context(ACCURACY)
    with triton_outcome():
        require_qa_model(spec)
        checked = served_accuracy(
            triton_accuracy,
            triton_session.client,
            deployment,
            triton_session.reference(spec),
            triton_session.weights_digest(spec),
            context,
            triton_session.baseline_client(deployment),
        )
    for name, served in checked.results.items():
        record_property(f"{name}.exact_match", round(served.exact_match, 3))
        record_property(f"{name}.f1", round(served.f1, 3))
        if name in checked.baseline_results:  # --triton-perf-against: the baseline deployment's on the same set
            record_property(f"{name}.vs_baseline.exact_match", round(checked.baseline_results[name].exact_match, 3))
            record_property(f"{name}.vs_baseline.f1", round(checked.baseline_results[name].f1, 3))
        record_property(f"{name}.features_per_s", round(served.features_per_second, 1))
        if triton_report_dir is not None:
            write_predictions(served.predictions, triton_report_dir / "squad" / deployment.model_name / name)
    _log(triton_results, context, deployment.model_name, checked.entries, checked.comparisons)
    triton_verdict(checked.ok, checked.report)


@pytest.mark.triton_zoo_model("resnext-small")
def test_default_classifier_reaches_its_target(
    triton_session, triton_models, triton_classification, triton_settings, record_property
):
    """The in-process model itself: only the shipped tiny classifier has a target."""
    spec = next((s for s in triton_models if s.name == "resnext-small"), None)
    if spec is None or "resnext-small" in triton_settings.checkpoints or triton_classification.plan.image_folder:
        pytest.skip(
            f"the target ({TINY_CLASSIFIER_TOP1:g}% top-1 on held-out synthetic images) is for the shipped tiny "
            "classifier, not evaluated here"
        )
    with triton_outcome():
        images = triton_classification.image_set(classifier_geometry(spec), spec.name)
        result = triton_classification.reference(spec, triton_session.reference(spec), images)
    record_property("top1", result.top1)
    record_property("top5", result.top5)
    triton_verdict(
        result.top1 >= TINY_CLASSIFIER_TOP1,
        lambda: f"top-1 {result.top1:.2f}%, top-5 {result.top5:.2f}%: below the target {TINY_CLASSIFIER_TOP1:g}%",
    )


def test_top1_through_triton(
    triton_session, triton_deployment, triton_classification, triton_baselines, triton_results, record_property
):
    deployment = triton_deployment
    spec = deployment.spec
    context = triton_baselines.context(ACCURACY)
    with triton_outcome():
        require_classifier(deployment)  # anything but a batching classifier skips before a reference is built
        module = triton_session.reference(spec) if spec.build is not None else None
        checked = served_classification(
            triton_classification,
            triton_session.client,
            deployment,
            module,
            triton_session.weights_digest(spec) if module is not None else None,
            context,
            triton_session.baseline_client(deployment),
        )
    figures = {"top1": checked.served.top1, "top5": checked.served.top5, **checked.agreement()}
    if checked.baseline is not None:  # --triton-perf-against: the baseline deployment's on the same images
        figures |= {"vs_baseline.top1": checked.baseline.top1, "vs_baseline.top5": checked.baseline.top5}
    for name, value in figures.items():
        record_property(f"{checked.images.name}.{name}", round(value, 3))
    record_property(f"{checked.images.name}.images_per_s", round(checked.served.images_per_second, 1))
    if checked.images.converted:
        record_property(f"{checked.images.name}.converted_to_rgb", checked.images.converted)
    _log(triton_results, context, deployment.model_name, checked.entries, checked.comparisons)
    triton_verdict(checked.ok, checked.report)


def _log(results, context, model_name, entries, comparisons) -> None:
    """The figures recorded (where this run updates baselines) and their verdicts, into the run's results log."""
    recorded = context.record(entries)
    outcome = SuiteOutcome(
        ACCURACY,
        model_name,
        comparisons=tuple(comparisons),
        recorded=tuple(recorded),
        baseline_file=context.path,
        stack_changes=context.stack_changes(),
    )
    log_outcome(results, outcome)
