"""The tiny QA model: shipped and pinned, retrained on request (cached by recipe, once under a lock), and accurate
on held-out synthetic data."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertForQuestionAnswering

from pytest_triton.baselines import BaselineKey, BaselineStore
from pytest_triton.errors import TritonPluginError
from pytest_triton.export.fingerprint import weights_digest
from pytest_triton.models import zoo
from pytest_triton.models.zoo import shipped_tiny_qa_model, zoo_spec
from pytest_triton.squad import tiny_model
from pytest_triton.squad.features import make_features
from pytest_triton.squad.inference import run_features, torch_qa_infer
from pytest_triton.squad.metrics import evaluate
from pytest_triton.squad.postprocess import postprocess
from pytest_triton.squad.prediction_files import official_predictions
from pytest_triton.squad.synthetic import generate
from pytest_triton.squad.tiny_model import MODEL_CACHE, Recipe, tiny_qa_model_dir

# weights_digest of the shipped tiny QA model (pytest_triton/models/weights/bert-tiny-squad), pinned: the accuracy
# baselines carry it, and new weights must come with new baselines.
SHIPPED_WEIGHTS = "577584bd04fbaade"


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


@pytest.fixture(
    scope="session",
    params=["shipped", pytest.param("retrained", marks=pytest.mark.slow)],
)
def model_dir(request) -> Path:
    """The shipped weights, and the committed recipe retrained on this machine (per-machine cache: once)."""
    return shipped_tiny_qa_model() if request.param == "shipped" else tiny_qa_model_dir(MODEL_CACHE)


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


def test_tiny_model_answers_held_out_v11_questions(model_dir):
    report = json.loads((model_dir / tiny_model.TRAINING_REPORT).read_text())
    # The shipped weights are what the committed recipe makes: a changed recipe must ship new weights.
    assert report["recipe"] == json.loads(json.dumps(vars(Recipe())))
    scores = _score(model_dir, "1.1", seed=101)
    assert scores.exact_match >= 80.0, scores
    assert scores.f1 >= 85.0, scores


def test_tiny_model_handles_held_out_v20_questions(model_dir):
    scores = _score(model_dir, "2.0", seed=202)
    assert scores.has_ans is not None and scores.no_ans is not None
    assert scores.exact_match >= 70.0, scores
    assert scores.f1 >= 75.0, scores
    assert scores.no_ans.exact >= 60.0, scores  # it does learn to abstain


def test_the_zoo_serves_the_pinned_shipped_weights_and_never_trains(monkeypatch):
    """The default run must not depend on where it runs: every machine checks these very weights."""

    def no_training(recipe: Recipe, out_dir: Path) -> None:
        raise AssertionError("the zoo trained the tiny model instead of using the shipped weights")

    monkeypatch.setattr(tiny_model, "train", no_training)
    assert weights_digest(zoo_spec("bert-tiny").build())[:16] == SHIPPED_WEIGHTS


def test_the_accuracy_baselines_were_measured_with_the_shipped_weights():
    stored = BaselineStore(Path(__file__).parents[2] / "baselines").load(BaselineKey("accuracy", "accuracy"))
    assert stored is not None
    tiny = [
        entry
        for config, metrics in stored.entries.items()
        if config.startswith("bert-tiny-")
        for entry in metrics.values()
    ]
    assert len(tiny) >= 4 and {entry.weights for entry in tiny} == {SHIPPED_WEIGHTS}


def test_missing_shipped_weights_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(zoo, "TINY_QA_MODEL", tmp_path / "absent")
    with pytest.raises(TritonPluginError) as info:
        zoo_spec("bert-tiny").build()
    message = str(info.value)
    assert "missing from the installed package" in message and "reinstall pytest-triton" in message
    assert "python -m pytest_triton.squad.tiny_model" in message and "bert-tiny=DIR" in message
    assert info.value.options == ("triton_checkpoint",)


def test_retraining_on_request_into_a_directory_refuses_one_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "kept.txt").write_text("mine")
    with pytest.raises(SystemExit):
        tiny_model.main(["--out", str(tmp_path)])
    assert "is not an empty directory" in capsys.readouterr().err and (tmp_path / "kept.txt").read_text() == "mine"


def test_retraining_into_a_directory_prints_the_digest_baselines_record(tmp_path, monkeypatch, capsys):
    """Training is stood in for by copying the shipped model: what matters here is where it lands and what is said."""
    monkeypatch.setattr(
        tiny_model,
        "train",
        lambda recipe, out_dir: shutil.copytree(shipped_tiny_qa_model(), out_dir, dirs_exist_ok=True),
    )
    out = tmp_path / "new" / "tiny"
    tiny_model.main(["--out", str(out)])
    printed = capsys.readouterr().out
    assert f"weights digest {SHIPPED_WEIGHTS}" in printed and f"--triton-checkpoint=bert-tiny={out}" in printed
    assert (out / "model.safetensors").is_file() and [p.name for p in out.parent.iterdir()] == ["tiny"]


def test_an_interrupted_retraining_leaves_nothing_in_place(tmp_path, monkeypatch):
    def interrupted(recipe: Recipe, out_dir: Path) -> None:
        (out_dir / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(tiny_model, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tiny_model.main(["--out", str(tmp_path / "tiny")])
    assert list(tmp_path.iterdir()) == []
