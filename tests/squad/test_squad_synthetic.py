"""The synthetic SQuAD generator: deterministic, valid files, disjoint held-out names, v2.0 unanswerables."""

from __future__ import annotations

from pytest_triton.squad.data import load_squad
from pytest_triton.squad.synthetic import generate, write_synthetic


def test_same_seed_same_data_other_seed_other_data():
    assert generate(7, 20) == generate(7, 20)
    assert generate(7, 20).examples != generate(8, 20).examples


def test_written_v11_file_is_valid_and_answerable(tmp_path):
    dataset = write_synthetic(tmp_path / "v1.json", seed=3, n_paragraphs=40, version="1.1")
    loaded = load_squad(tmp_path / "v1.json")  # also checks every answer_start against its text
    assert loaded == dataset
    assert loaded.version == "1.1"
    assert all(example.answers and not example.is_impossible for example in loaded.examples)
    assert any(" " in example.answers[0].text for example in loaded.examples)  # multi-word answers
    assert any(not example.context.isascii() for example in loaded.examples)  # some unicode names
    # several facts per paragraph: the answer is one sentence among at least three
    assert all(example.context.count(". ") >= 2 for example in loaded.examples)


def test_written_v20_file_has_unanswerable_questions(tmp_path):
    write_synthetic(tmp_path / "v2.json", seed=3, n_paragraphs=60, version="2.0")
    loaded = load_squad(tmp_path / "v2.json")
    assert loaded.version == "2.0"
    share = sum(example.is_impossible for example in loaded.examples) / len(loaded.examples)
    assert 0.2 < share < 0.45
    assert all(bool(example.answers) != example.is_impossible for example in loaded.examples)


def test_held_out_data_never_reuses_training_names():
    fixed = {"King", "Queen", "Duke", "Duchess", "Chancellor", "Lord", "Lady", "Elder", "River"}

    def invented_words(split: str) -> set[str]:
        dataset = generate(0, 300, split)
        texts = [example.title for example in dataset.examples]
        texts += [answer.text for example in dataset.examples for answer in example.answers]
        return {word for text in texts for word in text.split() if word[0].isupper() and word not in fixed}

    train, held_out = invented_words("train"), invented_words("heldout")
    assert len(train) > 300 and len(held_out) > 300
    assert not train & held_out


def test_held_out_files_are_named_by_the_generator_so_a_change_never_reuses_one(tmp_path, monkeypatch):
    from pytest_triton.checks import accuracy

    plan = accuracy.AccuracyPlan(squad_file=None, max_seq_length=None, doc_stride=None, max_query_length=None)
    run = accuracy.AccuracyRun(plan, tmp_path, "cpu")
    first = run.datasets()
    monkeypatch.setattr(accuracy, "generator_digest", lambda: "changedgen000")
    second = run.datasets()

    assert [name for name, _ in first] == [name for name, _ in second] == ["synthetic-v1.1", "synthetic-v2.0"]
    assert first == second  # same generator output under both names here, but each name written afresh
    files = sorted(path.name for path in tmp_path.iterdir())
    assert len(files) == 4 and sum("changedgen000" in name for name in files) == 2
    assert not any(name.startswith(".") for name in files)  # written aside and renamed: no staging left
