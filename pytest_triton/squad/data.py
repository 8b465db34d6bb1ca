"""Read and write SQuAD v1.1 / v2.0 data files as frozen dataclasses, with errors that point into the JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pytest_triton.atomic_write import write_text_atomic

Version = Literal["1.1", "2.0"]


class SquadFormatError(ValueError):
    """A data or prediction file is not what the SQuAD format requires; the message names file, JSON path and fix."""


class Answer(NamedTuple):
    """One gold answer: its text and the character offset where it starts in the context."""

    text: str
    start: int


@dataclass(frozen=True)
class Example:
    """One question about one paragraph; `answers` is empty exactly when `is_impossible`."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[Answer, ...]
    is_impossible: bool = False


@dataclass(frozen=True)
class SquadDataset:
    """A whole SQuAD file: its version and its questions in file order."""

    version: Version
    examples: tuple[Example, ...]

    def ids(self) -> frozenset[str]:
        """Return the set of question ids."""
        return frozenset(example.id for example in self.examples)


def answer_span(context: str, answer: Answer) -> tuple[int, int] | None:
    """Return the [start, end) character span of `answer` in `context`, or None when it is not at `answer.start`."""
    words = answer.text.split()
    if not words or not 0 <= answer.start <= len(context):
        return None
    # The official files have answers with stray leading/trailing whitespace and answer_start pointing at that
    # whitespace, and a few with different whitespace inside; compare word by word, allowing any whitespace run.
    pattern = re.compile(r"\s*(" + r"\s+".join(re.escape(word) for word in words) + ")")
    match = pattern.match(context, answer.start)
    return (match.start(1), match.end(1)) if match else None


def load_squad(path: Path | str) -> SquadDataset:
    """Read a SQuAD v1.1 or v2.0 JSON file; raise SquadFormatError naming the JSON path of any problem."""
    path = Path(path)
    raw = read_json(path)
    return _Parser(path).dataset(raw)


def write_squad(path: Path | str, dataset: SquadDataset) -> None:
    """Write `dataset` as an official-format SQuAD JSON file, grouping consecutive questions by title and context."""
    articles: list[dict[str, Any]] = []
    for example in dataset.examples:
        if not articles or articles[-1]["title"] != example.title:
            articles.append({"title": example.title, "paragraphs": []})
        paragraphs = articles[-1]["paragraphs"]
        if not paragraphs or paragraphs[-1]["context"] != example.context:
            paragraphs.append({"context": example.context, "qas": []})
        qa: dict[str, Any] = {
            "id": example.id,
            "question": example.question,
            "answers": [{"text": a.text, "answer_start": a.start} for a in example.answers],
        }
        if dataset.version == "2.0":
            qa["is_impossible"] = example.is_impossible
        paragraphs[-1]["qas"].append(qa)
    document = {"version": f"v{dataset.version}", "data": articles}
    write_text_atomic(Path(path), json.dumps(document, ensure_ascii=False))  # other xdist workers may read it


def read_json(path: Path) -> Any:
    """Parse a JSON file; syntax and encoding problems become a SquadFormatError naming file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SquadFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SquadFormatError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None


def describe_json(value: Any) -> str:
    """Name a JSON value's type the way the JSON spec does, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "an array"
    return "an object"


class _Parser:
    """Walks the parsed JSON of one file, checking each field and remembering its path for error messages."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _fail(self, where: str, problem: str) -> SquadFormatError:
        return SquadFormatError(f"{self._path}: {where or 'top level'}: {problem}")

    def _typed(self, obj: dict[str, Any], key: str, where: str, kind: type, expected: str) -> Any:
        if key not in obj:
            raise self._fail(where, f"missing required key {key!r} ({expected})")
        value = obj[key]
        # bool is an int in Python but not a valid answer_start in JSON terms.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self._fail(f"{where}.{key}" if where else key, f"expected {expected}, got {describe_json(value)}")
        return value

    def _objects(self, value: Any, where: str) -> Sequence[Any]:
        if not isinstance(value, list):
            raise self._fail(where, f"expected an array, got {describe_json(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._fail(f"{where}[{index}]", f"expected an object, got {describe_json(item)}")
        return value

    def dataset(self, raw: Any) -> SquadDataset:
        if not isinstance(raw, dict):
            raise self._fail("", f"expected an object with a 'data' array, got {describe_json(raw)}")
        articles = self._objects(self._typed(raw, "data", "", list, "an array"), "data")
        located: list[tuple[Example, str]] = []
        saw_v2_keys = False
        for a_index, article in enumerate(articles):
            where_article = f"data[{a_index}]"
            title = article.get("title", "")
            if not isinstance(title, str):
                raise self._fail(f"{where_article}.title", f"expected a string, got {describe_json(title)}")
            paragraphs = self._objects(
                self._typed(article, "paragraphs", where_article, list, "an array of paragraphs"),
                f"{where_article}.paragraphs",
            )
            for p_index, paragraph in enumerate(paragraphs):
                where_paragraph = f"{where_article}.paragraphs[{p_index}]"
                context = self._typed(paragraph, "context", where_paragraph, str, "a string")
                qas = self._objects(
                    self._typed(paragraph, "qas", where_paragraph, list, "an array of questions"),
                    f"{where_paragraph}.qas",
                )
                for q_index, qa in enumerate(qas):
                    where_qa = f"{where_paragraph}.qas[{q_index}]"
                    saw_v2_keys = saw_v2_keys or "is_impossible" in qa or "plausible_answers" in qa
                    located.append((self._example(qa, where_qa, title, context), where_qa))
        if not located:
            raise self._fail("data", "expected at least one question, found none")
        version = self._version(raw.get("version"), saw_v2_keys)
        seen: set[str] = set()
        for example, where in located:
            if example.id in seen:
                raise self._fail(f"{where}.id", f"expected a unique question id, {example.id!r} occurs earlier too")
            seen.add(example.id)
            if version == "1.1" and not example.answers:
                raise self._fail(f"{where}.answers", "expected at least one answer in a v1.1 file")
        return SquadDataset(version=version, examples=tuple(example for example, _ in located))

    def _example(self, qa: dict[str, Any], where: str, title: str, context: str) -> Example:
        qid = self._typed(qa, "id", where, str, "a string")
        question = self._typed(qa, "question", where, str, "a string")
        answers = tuple(self._answers(qa, where, context))
        # The official v2 scorer calls a question unanswerable exactly when it has no answers; keep the flag in step.
        impossible = qa.get("is_impossible", not answers)
        if not isinstance(impossible, bool):
            raise self._fail(f"{where}.is_impossible", f"expected true or false, got {describe_json(impossible)}")
        if impossible and answers:
            raise self._fail(f"{where}.answers", "expected an empty array for a question with is_impossible true")
        if not impossible and not answers:
            raise self._fail(f"{where}.answers", "expected at least one answer when is_impossible is false")
        return Example(qid, title, question, context, answers, impossible)

    def _answers(self, qa: dict[str, Any], where: str, context: str) -> Iterable[Answer]:
        answers = self._objects(self._typed(qa, "answers", where, list, "an array of answers"), f"{where}.answers")
        for index, item in enumerate(answers):
            where_answer = f"{where}.answers[{index}]"
            text = self._typed(item, "text", where_answer, str, "a string")
            start = self._typed(item, "answer_start", where_answer, int, "an integer character offset")
            answer = Answer(text, start)
            if answer_span(context, answer) is None:
                found = context[start : start + len(text)] if 0 <= start <= len(context) else "<outside the context>"
                raise self._fail(
                    f"{where_answer}.answer_start",
                    f"expected the answer text {text!r} to occur at character {start} of the context "
                    f"(length {len(context)}), found {found!r}",
                )
            yield answer

    def _version(self, field: Any, saw_v2_keys: bool) -> Version:
        if field is not None and not isinstance(field, str):
            raise self._fail("version", f"expected a string like 'v1.1' or 'v2.0', got {describe_json(field)}")
        if saw_v2_keys or (field or "").lstrip("v").startswith("2"):
            return "2.0"
        return "1.1"
