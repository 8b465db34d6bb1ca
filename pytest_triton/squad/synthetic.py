"""Deterministic synthetic SQuAD data: templated facts about invented places, small enough for a tiny BERT to learn.

Each paragraph states three to five facts about one invented place ("The capital of Zorvia is Quellmar."), each in
one of two phrasings; a question asks for one fact and the others are distractors. Answers are names, years, counts
and goods of one to five word pieces. In v2.0-style data some questions ask for a fact the paragraph does not state,
or about a place it does not mention. Names are built from syllables, some with non-ASCII letters; every name belongs
to exactly one split by a stable hash, so held-out data never reuses a training name.

Two simplifications keep it learnable by a 2-layer model in a minute of CPU: one place per paragraph (two places,
where the place must be matched too, stayed below 50 EM), and one-word family names for people ("Marrowsen",
"King Quellski"): with two-word names, where a name ends was the hardest thing to learn and training was unstable.
"""

from __future__ import annotations

import hashlib
import inspect
import random
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pytest_triton.squad.data import Answer, Example, SquadDataset, Version, write_squad

Split = Literal["train", "heldout"]

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "qu")
_VOWELS = ("a", "e", "i", "o", "u")
_CODAS = ("", "", "n", "r", "l", "s")
_UNICODE_SYLLABLES = ("zé", "ø", "å", "ñu", "ło", "šo", "ür", "ça", "ï", "ða")
_PLACE_ENDINGS = ("ia", "ar", "and", "mark", "heim", "ora", "ovy", "esh")
_FAMILY_ENDINGS = ("son", "sen", "dottir", "ez", "ova", "ski", "wyn", "ard")
_TITLES = ("King", "Queen", "Duke", "Duchess", "Chancellor", "Lord", "Lady", "Elder")
_GOODS = (
    "copper",
    "wool",
    "salt fish",
    "dried figs",
    "amber beads",
    "blue glass",
    "cedar timber",
    "silk rope",
    "iron nails",
    "olive oil",
    "river pearls",
    "woven carpets",
    "tin",
    "honey wine",
    "marble",
    "saffron",
)
_ANIMALS = ("silver fox", "red heron", "snow owl", "marsh elk", "grey wolf", "sea otter", "black ibex", "lynx")


def _holdout(name: str) -> bool:
    """A stable 1-in-4 partition of names: held-out data only uses held-out names, training data only the rest."""
    return zlib.crc32(name.lower().encode("utf-8")) % 4 == 0


class _Names:
    """Draws invented names that belong to one split and are not yet used in the current paragraph."""

    def __init__(self, rng: random.Random, split: Split) -> None:
        self._rng = rng
        self._split = split

    def _syllable(self) -> str:
        if self._rng.random() < 0.08:
            return self._rng.choice(_UNICODE_SYLLABLES)
        return self._rng.choice(_ONSETS) + self._rng.choice(_VOWELS) + self._rng.choice(_CODAS)

    def word(self, syllables: int, ending: str = "") -> str:
        """Return a capitalised invented word of the split."""
        while True:
            word = ("".join(self._syllable() for _ in range(syllables)) + ending).capitalize()
            if _holdout(word) == (self._split == "heldout"):
                return word

    def place(self) -> str:
        """Return an invented place name such as 'Zorvia'."""
        return self.word(self._rng.randint(1, 2), self._rng.choice(_PLACE_ENDINGS))

    def person(self) -> str:
        """Return an invented family name such as 'Marrowsen'."""
        return self.word(self._rng.randint(1, 2), self._rng.choice(_FAMILY_ENDINGS))


@dataclass(frozen=True)
class _Relation:
    """One kind of fact: how to draw its value, how to state it, how to ask for it."""

    name: str
    value: Callable[[random.Random, _Names], str]
    statements: tuple[str, ...]  # "{e}" is the place, "{v}" the value
    questions: tuple[str, ...]


_RELATIONS = (
    _Relation(
        "capital",
        lambda rng, names: names.word(rng.randint(1, 2)),
        ("The capital of {e} is {v}.", "{v} is the capital city of {e}."),
        ("What is the capital of {e}?", "Which city is the capital of {e}?"),
    ),
    _Relation(
        "founded",
        lambda rng, names: str(rng.randint(1000, 1899)),
        ("{e} was founded in {v}.", "In {v} the first settlers founded {e}."),
        ("When was {e} founded?", "In what year was {e} founded?"),
    ),
    _Relation(
        "founder",
        lambda rng, names: names.person(),
        ("{e} was founded by {v}.", "The founder of {e} was {v}."),
        ("Who founded {e}?", "Who was the founder of {e}?"),
    ),
    _Relation(
        "export",
        lambda rng, names: rng.choice(_GOODS),
        ("The main export of {e} is {v}.", "{e} grows rich by selling {v}."),
        ("What is the main export of {e}?", "What does {e} export most?"),
    ),
    _Relation(
        "population",
        lambda rng, names: f"{rng.randint(2, 950)},{rng.randint(0, 999):03d}",
        ("{e} has a population of {v} people.", "About {v} people live in {e}."),
        ("How many people live in {e}?", "What is the population of {e}?"),
    ),
    _Relation(
        "language",
        lambda rng, names: names.word(rng.randint(1, 2), "ic"),
        ("The people of {e} speak {v}.", "The official language of {e} is {v}."),
        ("What language is spoken in {e}?", "What is the official language of {e}?"),
    ),
    _Relation(
        "river",
        lambda rng, names: names.word(rng.randint(1, 2)) + " River",
        ("The {v} flows through {e}.", "{e} lies on the banks of the {v}."),
        ("Which river flows through {e}?", "On which river does {e} lie?"),
    ),
    _Relation(
        "ruler",
        lambda rng, names: f"{rng.choice(_TITLES)} {names.person()}",
        ("{e} is ruled by {v}.", "Today {v} governs {e}."),
        ("Who rules {e}?", "Who governs {e}?"),
    ),
    _Relation(
        "animal",
        lambda rng, names: rng.choice(_ANIMALS),
        ("The national animal of {e} is the {v}.", "In {e} the {v} is a protected symbol."),
        ("What is the national animal of {e}?", "Which animal is the symbol of {e}?"),
    ),
)


@dataclass(frozen=True)
class _Fact:
    relation: _Relation
    value: str


def vocabulary() -> list[str]:
    """Every word and name syllable the generator can write (raw, not normalised), to build a tokenizer vocabulary."""
    words = {"River", "ic", *_TITLES, *_PLACE_ENDINGS, *_FAMILY_ENDINGS, *_UNICODE_SYLLABLES}
    words.update(" ".join((*_GOODS, *_ANIMALS)).split())
    for relation in _RELATIONS:
        for template in (*relation.statements, *relation.questions):
            words.update(template.replace("{e}", " ").replace("{v}", " ").split())
    words.update(onset + vowel + coda for onset in _ONSETS for vowel in _VOWELS for coda in _CODAS)
    return sorted(words)


def generate(
    seed: int, n_paragraphs: int, split: Split = "heldout", unanswerable_fraction: float = 0.0, id_prefix: str = "syn"
) -> SquadDataset:
    """Generate a data set (v2.0 when unanswerable_fraction > 0, else v1.1); same arguments, same data."""
    rng = random.Random(f"{split}:{seed}")
    names = _Names(rng, split)
    examples: list[Example] = []
    for paragraph in range(n_paragraphs):
        place = names.place()
        facts = [_Fact(relation, relation.value(rng, names)) for relation in rng.sample(_RELATIONS, rng.randint(3, 5))]
        context, answers = _paragraph(rng, place, facts)
        for number in range(rng.randint(2, 4)):
            qid = f"{id_prefix}-{split}-{seed}-{paragraph:05d}-{number}"
            if rng.random() < unanswerable_fraction:
                question = _unanswerable_question(rng, names, place, facts)
                examples.append(Example(qid, place, question, context, (), True))
            else:
                index = rng.randrange(len(facts))
                question = rng.choice(facts[index].relation.questions).format(e=place)
                examples.append(Example(qid, place, question, context, (answers[index],), False))
    version: Version = "2.0" if unanswerable_fraction > 0 else "1.1"
    return SquadDataset(version=version, examples=tuple(examples))


def generator_digest() -> str:
    """A hash of this module's source: data written by a changed generator gets a new file name."""
    return hashlib.sha256(inspect.getsource(sys.modules[__name__]).encode()).hexdigest()[:12]


def write_synthetic(
    path: Path | str, seed: int, n_paragraphs: int, version: Version, split: Split = "heldout"
) -> SquadDataset:
    """Generate a v1.1 set or a v2.0 set (a third of questions unanswerable) and write it as SQuAD JSON."""
    dataset = generate(seed, n_paragraphs, split, unanswerable_fraction=1 / 3 if version == "2.0" else 0.0)
    write_squad(path, dataset)
    return dataset


def _paragraph(rng: random.Random, place: str, facts: Sequence[_Fact]) -> tuple[str, list[Answer]]:
    """Join the facts' sentences; return the text and each fact's value as it appears there, with its offset."""
    sentences: list[str] = []
    answers: list[Answer] = []
    offset = 0
    for fact in facts:
        template = rng.choice(fact.relation.statements)
        value_at = template.format(e=place, v="\0").index("\0")
        sentence = template.format(e=place, v=fact.value)
        sentence = sentence[0].upper() + sentence[1:]  # "Copper is ...": the answer text is taken after this
        answers.append(Answer(sentence[value_at : value_at + len(fact.value)], offset + value_at))
        sentences.append(sentence)
        offset += len(sentence) + 1
    return " ".join(sentences), answers


def _unanswerable_question(rng: random.Random, names: _Names, place: str, facts: Sequence[_Fact]) -> str:
    """Ask for a fact the paragraph does not state, or (one time in four) about a place it does not mention."""
    if rng.random() < 0.25:
        other = names.place()
        while other == place:
            other = names.place()
        return rng.choice(rng.choice(_RELATIONS).questions).format(e=other)
    stated = {fact.relation.name for fact in facts}
    missing = [relation for relation in _RELATIONS if relation.name not in stated]
    return rng.choice(rng.choice(missing).questions).format(e=place)
