"""QA accuracy through Triton: SQuAD EM/F1 of a served BERT, against the in-process model and the baseline.

Tolerances against the in-process eager fp32 model on the same features:

    fp32: every prediction identical (so EM and F1 are equal)
    fp16, bf16: EM and F1 each within AccuracyPlan.fp16_points (1.0 by default)

The embedded default evaluates held-out synthetic sets (v1.1 style, and v2.0 style with unanswerable
questions) written under the cache directory; AccuracyPlan.squad_file evaluates a real SQuAD file instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.entry import BaselineEntry
from pytest_triton.checks.accuracy_baselines import JudgedAccuracy, accuracy_entries, judged, points_apart
from pytest_triton.checks.accuracy_plan import AccuracyPlan
from pytest_triton.checks.payload import served_inputs
from pytest_triton.errors import TritonPluginError, Unsupported
from pytest_triton.kinds import baseline_id
from pytest_triton.models.spec import ModelSpec
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import TritonClient
from pytest_triton.squad.data import SquadDataset, SquadFormatError, load_squad
from pytest_triton.squad.features import Feature, make_features, window_settings
from pytest_triton.squad.inference import Infer, run_features, torch_qa_infer
from pytest_triton.squad.metrics import evaluate
from pytest_triton.squad.postprocess import Prediction, postprocess
from pytest_triton.squad.prediction_files import official_predictions
from pytest_triton.squad.synthetic import generator_digest, write_synthetic

if TYPE_CHECKING:  # the reference runs in torch; served models without one are checked without it
    import torch

HELD_OUT_SEED = 7
HELD_OUT_PARAGRAPHS = 120


@dataclass(frozen=True)
class SquadSet:
    """One evaluation set, tokenized for one model."""

    name: str
    dataset: SquadDataset
    features: list[Feature] = field(repr=False)


@dataclass(frozen=True)
class AccuracyResult:
    exact_match: float
    f1: float
    official: dict
    predictions: list[Prediction] = field(repr=False)
    seconds: float
    features: int

    @property
    def features_per_second(self) -> float:
        return self.features / self.seconds if self.seconds else 0.0

    def answers(self) -> dict[str, str]:
        return official_predictions(self.predictions)

    def entries(self, weights: str) -> dict[str, BaselineEntry]:
        return accuracy_entries({"exact_match": self.exact_match, "f1": self.f1}, weights)


def evaluate_backend(squad: SquadSet, infer: Infer, plan: AccuracyPlan, progress: bool = False) -> AccuracyResult:
    """Run every feature through `infer` (bounded concurrency, so a dynamic batcher sees them together),
    post-process as the reference scripts do, and score with the official semantics."""
    began = time.perf_counter()
    logits = run_features(squad.features, infer, plan.batch_size, plan.concurrency, progress)
    seconds = time.perf_counter() - began
    with_negative = squad.dataset.version == "2.0"
    predictions = postprocess(squad.dataset.examples, squad.features, logits, with_negative)
    scores = evaluate(squad.dataset, official_predictions(predictions))
    return AccuracyResult(scores.exact_match, scores.f1, scores.official(), predictions, seconds, len(squad.features))


def triton_infer(client: TritonClient, deployment: Deployment) -> Infer:
    """An `infer` over the served model: spec input names mapped to served names and dtypes."""
    start_name, end_name = (t.name for t in deployment.outputs)

    def infer(batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        out = client.infer(deployment.model_name, served_inputs(deployment, batch), [start_name, end_name])
        return out[start_name].astype(np.float32), out[end_name].astype(np.float32)

    return infer


@dataclass
class AccuracyRun:
    """Evaluation sets and in-process reference results of one run, each made once per model."""

    plan: AccuracyPlan
    data_dir: Path
    device: str
    _sets: dict[str, list[SquadSet]] = field(default_factory=dict, repr=False)
    _references: dict[tuple[str, str], AccuracyResult] = field(default_factory=dict, repr=False)

    def sets(self, spec: ModelSpec) -> list[SquadSet]:
        if spec.name not in self._sets:
            self._sets[spec.name] = self._make_sets(spec)
        return self._sets[spec.name]

    def reference(self, spec: ModelSpec, module: torch.nn.Module, squad: SquadSet) -> AccuracyResult:
        key = (spec.name, squad.name)
        if key not in self._references:
            self._references[key] = evaluate_backend(squad, torch_qa_infer(module, self.device), self.plan)
        return self._references[key]

    def _make_sets(self, spec: ModelSpec) -> list[SquadSet]:
        from transformers import AutoConfig, AutoTokenizer

        tokenizer_dir = spec.tokenizer_dir() if spec.tokenizer_dir else None
        if tokenizer_dir is None:
            raise Unsupported(
                f"{spec.name} has no tokenizer: give it a Hugging Face checkpoint directory to evaluate its accuracy",
                options=("triton_checkpoint",),
            )
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        positions = AutoConfig.from_pretrained(str(tokenizer_dir)).max_position_embeddings
        # BERT's reference length 384 where the model allows 384 positions, and the windows that go with it.
        seq = self.plan.max_seq_length or min(384, positions)
        stride, query = window_settings(seq)
        stride, query = self.plan.doc_stride or stride, self.plan.max_query_length or query
        sets = []
        for name, dataset in self.datasets():
            sets.append(SquadSet(name, dataset, make_features(dataset.examples, tokenizer, seq, stride, query)))
        return sets

    def datasets(self) -> list[tuple[str, SquadDataset]]:
        try:
            if self.plan.squad_file is not None:
                return [(self.plan.squad_file.stem, load_squad(self.plan.squad_file))]
            self.data_dir.mkdir(parents=True, exist_ok=True)
            found = []
            # Named by what decides the content, so a changed generator never reuses an old file.
            made_by = f"seed{HELD_OUT_SEED}-{HELD_OUT_PARAGRAPHS}p-{generator_digest()}"
            for version in ("1.1", "2.0"):
                name = f"synthetic-heldout-v{version}-{made_by}"
                path = self.data_dir / f"{name}.json"
                if not path.exists():
                    write_synthetic(path, HELD_OUT_SEED, HELD_OUT_PARAGRAPHS, version)  # type: ignore[arg-type]
                found.append((f"synthetic-v{version}", load_squad(path)))
            return found
        except SquadFormatError as error:
            raise TritonPluginError(str(error)) from None


def require_qa_model(spec: ModelSpec) -> None:
    if spec.family != "bert":
        raise Unsupported(f"SQuAD accuracy applies to BERT question answering; {spec.name} is {spec.family}")


@dataclass(frozen=True)
class ServedAccuracy(JudgedAccuracy):
    """A served variant's EM/F1 on every evaluation set, against the in-process model and the stored baselines."""

    results: dict[str, AccuracyResult]  # by evaluation set
    baseline_results: dict[str, AccuracyResult]  # the baseline deployment's on the same sets, where there is one


def served_accuracy(
    run: AccuracyRun,
    client: TritonClient,
    deployment: Deployment,
    module: torch.nn.Module,
    weights: str,
    baselines: BaselineContext,
    baseline: tuple[TritonClient, Deployment] | None = None,
) -> ServedAccuracy:
    """Evaluate `deployment` on every set of its model: fp32 must predict what `module` (the eager fp32 model with
    the weights digest `weights`) predicts, lower precisions stay within the plan's points; each set's EM/F1 is
    judged against its baseline, unless this run updates them. With `baseline` (the same model in a baseline
    deployment, and a client of its server), that is evaluated on the same sets, and EM/F1 must stay within the
    plan's points of its."""
    spec = deployment.spec
    require_qa_model(spec)
    results, theirs, entries, problems = {}, {}, {}, []
    for squad in run.sets(spec):
        reference = run.reference(spec, module, squad)
        served = evaluate_backend(squad, triton_infer(client, deployment), run.plan)
        results[squad.name] = served
        problems += _against_reference(squad.name, served, reference, deployment.precision, run.plan.fp16_points)
        if baseline is not None:
            theirs[squad.name] = evaluate_backend(squad, triton_infer(*baseline), run.plan)
            metrics = ("exact_match", "f1")
            problems += points_apart(
                squad.name, served, theirs[squad.name], metrics, run.plan.fp16_points, "the baseline deployment"
            )
        entries[baseline_id(deployment.model_name, squad.name)] = served.entries(weights)
    comparisons = judged(entries, baselines)
    problems += [c.message for c in comparisons if c.failed]
    return ServedAccuracy(entries, comparisons, problems, results, theirs)


def _against_reference(
    name: str, served: AccuracyResult, reference: AccuracyResult, precision: str, points: float
) -> list[str]:
    if precision == "fp32":
        expected = reference.answers()
        differing = [qid for qid, text in served.answers().items() if expected[qid] != text]
        return (
            [f"{name}: {len(differing)} predictions differ from in-process, e.g. {differing[:3]}"] if differing else []
        )
    return points_apart(name, served, reference, ("exact_match", "f1"), points)
