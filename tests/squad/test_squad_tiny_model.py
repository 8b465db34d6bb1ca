"""The tiny QA model: cached by recipe, trained once under a lock, and accurate on held-out synthetic data."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertForQuestionAnswering

from pytest_triton.models.zoo import DEFAULT_CACHE
from pytest_triton.squad import tiny_model
from pytest_triton.squad.features import make_features
from pytest_triton.squad.inference import run_features, torch_qa_infer
from pytest_triton.squad.metrics import evaluate
from pytest_triton.squad.postprocess import postprocess
from pytest_triton.squad.prediction_files import official_predictions
from pytest_triton.squad.synthetic import generate
from pytest_triton.squad.tiny_model import Recipe, tiny_qa_model_dir


def test_recipe_key_follows_every_field():
    assert Recipe().key() == Recipe().key()
    changed = [Recipe(**{name: 7}).key() for name in ("steps", "torch_seed", "layers", "threads")]
    assert len({Recipe().key(), *changed}) == 5



def test_training_batches_group_similar_lengths_and_cover_the_data_once_per_pass():
    lengths = torch.randint(10, 129, (1000,), generator=torch.Generator().manual_seed(0))

    def batches(seed: int) -> list[torch.Tensor]:
        return list(tiny_model._batches(lengths, 32, 40, torch.Generator().manual_seed(seed)))

    drawn = batches(1)
    assert len(drawn) == 40 and all(len(b) == 32 for b in drawn)
    first_pass = torch.cat(drawn[:31])  # 31 full batches of 32 in 1000 features
    assert len(set(first_pass.tolist())) == len(first_pass)  # nothing twice within a pass
    padded = sum(int(lengths[b].max()) * len(b) for b in drawn) / sum(int(lengths[b].sum()) for b in drawn)
    assert padded < 1.1  # a random batch of lengths 10-128 pads to about 1.8x
    assert all(torch.equal(a, b) for a, b in zip(drawn, batches(1)))  # deterministic
    assert not all(torch.equal(a, b) for a, b in zip(drawn, batches(2)))

def test_concurrent_callers_train_once_and_never_see_a_partial_model(tmp_path, monkeypatch):
    """Three threads stand in for xdist workers: the file lock is per path, so it serialises threads too."""
    calls: list[Path] = []

    def fake_train(recipe: Recipe, out_dir: Path) -> None:
        calls.append(out_dir)
        (out_dir / "config.json").write_text("{}")
        time.sleep(0.3)  # the other caller arrives while this one trains
        (out_dir / "model.safetensors").write_text("weights")

    monkeypatch.setattr(tiny_model, "train", fake_train)
    killed = tmp_path / f".tiny-bert-squad-{Recipe().key()}-killed"  # staging left by a trainer that was killed
    killed.mkdir()
    (killed / "config.json").write_text("{}")
    results: list[Path] = []

    def call() -> None:
        path = tiny_qa_model_dir(tmp_path)
        assert (path / "model.safetensors").exists()  # complete as soon as it is visible
        results.append(path)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(set(results)) == 1 and len(results) == 3
    assert results[0].name == f"tiny-bert-squad-{Recipe().key()}"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory left behind
    assert tiny_qa_model_dir(tmp_path) == results[0] and len(calls) == 1


def test_failed_training_leaves_nothing_and_is_retried(tmp_path, monkeypatch):
    def broken_train(recipe: Recipe, out_dir: Path) -> None:
        (out_dir / "config.json").write_text("{}")
        raise RuntimeError("out of memory")

    monkeypatch.setattr(tiny_model, "train", broken_train)
    with pytest.raises(RuntimeError, match="out of memory"):
        tiny_qa_model_dir(tmp_path)
    assert [p.suffix for p in tmp_path.iterdir()] == [".lock"]

    monkeypatch.setattr(tiny_model, "train", lambda recipe, out_dir: (out_dir / "config.json").write_text("{}"))
    assert (tiny_qa_model_dir(tmp_path) / "config.json").exists()


@pytest.fixture(scope="session")
def trained_model_dir(request) -> Path:
    """The real tiny model, from the per-machine cache the zoo's bert-tiny uses: trained once per machine."""
    return tiny_qa_model_dir(DEFAULT_CACHE / "models")


def _score(model_dir: Path, version: str, seed: int):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertForQuestionAnswering.from_pretrained(model_dir)
    dataset = generate(seed, 150, "heldout", unanswerable_fraction=1 / 3 if version == "2.0" else 0.0)
    features = make_features(
        dataset.examples, tokenizer, tiny_model.MAX_SEQ_LENGTH, tiny_model.DOC_STRIDE, tiny_model.MAX_QUERY_LENGTH
    )
    logits = run_features(features, torch_qa_infer(model), batch_size=64)
    predictions = postprocess(dataset.examples, features, logits, with_negative=version == "2.0")
    return evaluate(dataset, official_predictions(predictions))


def test_tiny_model_answers_held_out_v11_questions(trained_model_dir):
    report = json.loads((trained_model_dir / tiny_model.TRAINING_REPORT).read_text())
    assert report["recipe"] == json.loads(json.dumps(vars(Recipe())))
    scores = _score(trained_model_dir, "1.1", seed=101)
    assert scores.exact_match >= 80.0, scores
    assert scores.f1 >= 85.0, scores


def test_tiny_model_handles_held_out_v20_questions(trained_model_dir):
    scores = _score(trained_model_dir, "2.0", seed=202)
    assert scores.has_ans is not None and scores.no_ans is not None
    assert scores.exact_match >= 70.0, scores
    assert scores.f1 >= 75.0, scores
    assert scores.no_ans.exact >= 60.0, scores  # it does learn to abstain
