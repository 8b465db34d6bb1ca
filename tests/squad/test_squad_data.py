"""Reading SQuAD files: versions, dataclasses, and errors that name the file and the JSON path."""

from __future__ import annotations

import pytest

from pytest_triton.squad.data import Answer, Example, SquadDataset, SquadFormatError, load_squad, write_squad

CONTEXT = "The Eiffel Tower stands in Paris. Paris is the capital of France."


def test_v11_file_loads_into_frozen_examples(write_json, squad_doc, qa):
    path = write_json("v1.json", squad_doc((CONTEXT, [qa("q1", "Where is the tower?", CONTEXT, "Paris", "in Paris")])))
    dataset = load_squad(path)
    assert dataset.version == "1.1"
    assert dataset.examples == (
        Example("q1", "T", "Where is the tower?", CONTEXT, (Answer("Paris", 27), Answer("in Paris", 24)), False),
    )
    assert dataset.examples[0].answers[0] == ("Paris", 27)  # answers are (text, char_start) pairs
    with pytest.raises(AttributeError):
        dataset.examples[0].question = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("version", "extra", "expected"),
    [
        ("1.1", {}, "1.1"),
        (None, {}, "1.1"),
        ("v2.0", {}, "2.0"),
        ("1.1", {"is_impossible": False}, "2.0"),
        (None, {"plausible_answers": []}, "2.0"),
    ],
)
def test_version_is_detected(write_json, squad_doc, qa, version, extra, expected):
    entry = {**qa("q1", "Where?", CONTEXT, "Paris"), **extra}
    assert load_squad(write_json("d.json", squad_doc((CONTEXT, [entry]), version=version))).version == expected


def test_v20_unanswerable_question(write_json, squad_doc, qa):
    path = write_json(
        "v2.json",
        squad_doc(
            (
                CONTEXT,
                [qa("a", "Capital?", CONTEXT, "Paris", impossible=False), qa("n", "Mayor?", CONTEXT, impossible=True)],
            ),
            version="v2.0",
        ),
    )
    dataset = load_squad(path)
    assert dataset.version == "2.0"
    assert [(e.id, e.is_impossible, e.answers) for e in dataset.examples] == [
        ("a", False, (Answer("Paris", 27),)),
        ("n", True, ()),
    ]


def test_write_then_load_round_trips_unicode(tmp_path):
    context = "Zoë was born in Kraków; later she lived in 東京 near the river."
    dataset = SquadDataset(
        "2.0",
        (
            Example("u1", "Zoë", "Where was Zoë born?", context, (Answer("Kraków", context.index("Kraków")),)),
            Example("u2", "Zoë", "Where did she live?", context, (Answer("東京", context.index("東京")),)),
            Example("u3", "Zoë", "Who was her mayor?", context, (), True),
        ),
    )
    path = tmp_path / "unicode.json"
    write_squad(path, dataset)
    assert load_squad(path) == dataset


def test_very_long_context_loads(write_json, squad_doc, qa):
    context = " ".join(f"w{i % 100}" for i in range(60_000)) + " The answer is here."
    dataset = load_squad(write_json("long.json", squad_doc((context, [qa("q", "Where?", context, "answer is here")]))))
    answer = dataset.examples[0].answers[0]
    assert context[answer.start : answer.start + len(answer.text)] == "answer is here"


def test_whitespace_quirks_of_official_data_are_accepted(write_json, squad_doc):
    context = "It was built in  1889 by\nGustave Eiffel."
    entries = [
        # answer_start points at the space before the answer, and the text has a trailing space
        {"id": "a", "question": "When?", "answers": [{"text": " 1889 ", "answer_start": context.index("1889") - 1}]},
        # a newline in the context where the answer text has a plain space
        {"id": "b", "question": "By whom?", "answers": [{"text": "by Gustave", "answer_start": context.index("by")}]},
    ]
    dataset = load_squad(write_json("quirks.json", squad_doc((context, entries))))
    assert [e.answers[0].text for e in dataset.examples] == [" 1889 ", "by Gustave"]


def _error(path) -> str:
    with pytest.raises(SquadFormatError) as info:
        load_squad(path)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_invalid_json_names_file_line_and_column(write_json):
    path = write_json("broken.json", '{"data": [\n  {"title": "x",, }]}')
    message = _error(path)
    assert str(path) in message
    assert "invalid JSON at line 2 column" in message


def test_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"data": [], "title": "Kraków"}'.encode("latin-1"))
    assert "not UTF-8" in _error(path)


@pytest.mark.parametrize(
    ("mutate", "where", "expected"),
    [
        (lambda d: d.pop("data"), "top level", "missing required key 'data'"),
        (lambda d: d.update(data={"x": 1}), "data", "expected an array, got an object"),
        (
            lambda d: d["data"][0]["paragraphs"][0].pop("context"),
            "data[0].paragraphs[0]",
            "missing required key 'context'",
        ),
        (
            lambda d: d["data"][0]["paragraphs"][0]["qas"][1].update(question=7),
            "data[0].paragraphs[0].qas[1].question",
            "expected a string, got the number 7",
        ),
        (
            lambda d: d["data"][0]["paragraphs"][0]["qas"][1]["answers"][0].update(answer_start="27"),
            "data[0].paragraphs[0].qas[1].answers[0].answer_start",
            "expected an integer character offset, got the string '27'",
        ),
        (
            lambda d: d["data"][0]["paragraphs"][0]["qas"][1]["answers"][0].update(answer_start=True),
            "data[0].paragraphs[0].qas[1].answers[0].answer_start",
            "expected an integer character offset, got a boolean",
        ),
        (
            lambda d: d["data"][0]["paragraphs"][0]["qas"][1].update(is_impossible="no"),
            "data[0].paragraphs[0].qas[1].is_impossible",
            "expected true or false",
        ),
        (
            lambda d: d["data"][0]["paragraphs"][0]["qas"].append("q3"),
            "data[0].paragraphs[0].qas[2]",
            "expected an object, got the string 'q3'",
        ),
    ],
)
def test_wrong_structure_names_the_json_path(write_json, squad_doc, qa, mutate, where, expected):
    document = squad_doc((CONTEXT, [qa("q1", "Where?", CONTEXT, "Paris"), qa("q2", "Capital of?", CONTEXT, "France")]))
    mutate(document)
    path = write_json("bad.json", document)
    message = _error(path)
    assert message.startswith(f"{path}: {where}: ")
    assert expected in message


def test_answer_not_at_answer_start_is_an_error(write_json, squad_doc):
    entry = {"id": "q", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 4}]}
    path = write_json("offset.json", squad_doc(("intro", []), (CONTEXT, [entry])))
    message = _error(path)
    assert "data[0].paragraphs[1].qas[0].answers[0].answer_start" in message
    assert "expected the answer text 'Paris' to occur at character 4 of the context" in message
    assert "found 'Eiffe'" in message


def test_answer_start_outside_context_is_an_error(write_json, squad_doc):
    entry = {"id": "q", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 5000}]}
    assert "<outside the context>" in _error(write_json("outside.json", squad_doc((CONTEXT, [entry]))))


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"id": "q", "question": "?", "answers": [], "is_impossible": False}, "expected at least one answer when"),
        (
            {"id": "q", "question": "?", "answers": [{"text": "Paris", "answer_start": 27}], "is_impossible": True},
            "expected an empty array for a question with is_impossible true",
        ),
    ],
)
def test_v20_answers_must_agree_with_is_impossible(write_json, squad_doc, entry, expected):
    message = _error(write_json("v2.json", squad_doc((CONTEXT, [entry]), version="v2.0")))
    assert "data[0].paragraphs[0].qas[0].answers" in message
    assert expected in message


def test_v11_question_without_answers_is_an_error(write_json, squad_doc):
    entry = {"id": "q", "question": "?", "answers": []}
    message = _error(write_json("v1.json", squad_doc((CONTEXT, [entry]))))
    assert "data[0].paragraphs[0].qas[0].answers: expected at least one answer in a v1.1 file" in message


def test_duplicate_ids_are_an_error(write_json, squad_doc, qa):
    document = squad_doc((CONTEXT, [qa("same", "A?", CONTEXT, "Paris"), qa("same", "B?", CONTEXT, "France")]))
    message = _error(write_json("d.json", document))
    assert "qas[1].id: expected a unique question id, 'same' occurs earlier too" in message


def test_file_without_questions_is_an_error(write_json):
    assert "expected at least one question" in _error(write_json("empty.json", {"version": "1.1", "data": []}))
