"""Shared fixtures for the SQuAD library tests: a locally built tokenizer and writers for small SQuAD files.

Helpers are handed out as fixtures rather than imported, so the tests work under any pytest import mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from transformers import PreTrainedTokenizerFast

from pytest_triton.squad import synthetic
from pytest_triton.squad.tiny_model import build_tokenizer

# Words the hand-written test paragraphs use, on top of the synthetic generator's vocabulary.
_TEST_WORDS = (
    "who",
    "what",
    "where",
    "when",
    "which",
    "how",
    "is",
    "was",
    "the",
    "a",
    "an",
    "of",
    "in",
    "on",
    "by",
    "and",
    "to",
    "lived",
    "born",
    "city",
    "river",
    "tower",
    "paris",
    "france",
    "london",
    "eiffel",
    "zoë",
    "kraków",
    "tokyo",
    "east",
    "west",
    "north",
    "south",
    "near",
    "built",
    "year",
    "stands",
    "famous",
)


@pytest.fixture(scope="session")
def tokenizer() -> PreTrainedTokenizerFast:
    """An uncased WordPiece BERT tokenizer built from local word lists; w0..w99 are single tokens."""
    return build_tokenizer([*synthetic.vocabulary(), *_TEST_WORDS, *(f"w{i}" for i in range(100))])


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, Any], Path]:
    """Write a JSON document (or, given a str, raw text) to tmp_path/name and return the path."""

    def write(name: str, content: Any) -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _qa(qid: str, question: str, context: str, *answers: str, impossible: bool | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": qid,
        "question": question,
        "answers": [{"text": text, "answer_start": context.index(text)} for text in answers],
    }
    if impossible is not None:
        entry["is_impossible"] = impossible
    return entry


@pytest.fixture
def qa() -> Callable[..., dict[str, Any]]:
    """Build one SQuAD question entry; each answer is placed at its first occurrence in the context."""
    return _qa


@pytest.fixture
def squad_doc() -> Callable[..., dict[str, Any]]:
    """Build a SQuAD document: squad_doc((context, [qa, ...]), ..., version="1.1")."""

    def build(*paragraphs: tuple[str, list[dict[str, Any]]], version: str | None = "1.1") -> dict[str, Any]:
        document: dict[str, Any] = {
            "data": [{"title": "T", "paragraphs": [{"context": c, "qas": q} for c, q in paragraphs]}]
        }
        if version is not None:
            document["version"] = version
        return document

    return build
