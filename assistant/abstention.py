"""Whether the document answers a question: the abstention policy and its signals.

Similarity alone only rejects far-off questions: in-domain questions the text does not
answer score as high as real ones. So the policy also asks, in this order:

1. Is it an instruction posing as a question (nearer to the reviewed instruction
   exemplars in the index than to anything in the document)? Then a short refusal that
   says what the assistant does.
2. Is it an everyday question (nearer to the reviewed off-topic exemplars than to the
   document), or one on the document's subject that it does not answer (nearer to the
   reviewed unanswered exemplars: amounts, perpetrators, who chaired, later events), or is
   even the best entry of the document far off (the threshold)?
3. Does it ask about a number, or a name (in languages whose name forms are reviewed),
   that the document never mentions?
4. Does it ask for an amount, a date, an attribution, a person, a country, what would have
   been or what came after (reviewed cue phrases for all 24 languages, the types and their
   patterns data) that the best passage does not hold?
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from assistant.retrieval import Ranking
from assistant.text import KnownNames, fold, names, numbers
from index.document import Document

__all__ = ["AbstentionPolicy", "AnswerTypes", "Refusal", "load_answer_types"]

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


RefusalKind = Literal["instruction", "unanswered"]


@dataclass(frozen=True)
class Refusal:
    """Why the assistant does not answer: an instruction, or a question the text does not answer."""

    kind: RefusalKind
    reason: str


class _Cues(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cues: tuple[str, ...]
    # Single words that ask for the type wherever they stand ('euros', 'budget').
    anywhere: tuple[str, ...] = ()


class _AnswerTypeFile(BaseModel):
    """The file: what holds each type's answer in a passage, per document language, and
    each type's cues per question language; the types are the file's other tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passage: dict[str, dict[str, str]]
    types: dict[str, dict[str, _Cues]]

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        if isinstance(data, dict) and "types" not in data:
            return {"passage": data.get("passage", {}), "types": {
                k: v for k, v in data.items() if k != "passage"
            }}  # fmt: skip
        return data


@dataclass(frozen=True)
class AnswerTypes:
    """The answer type a question asks for, and whether a passage holds one."""

    # type -> question language -> its cues, in the file's order (the first that matches)
    cues: dict[str, dict[str, re.Pattern[str]]] = field(default_factory=dict)
    holds: dict[str, re.Pattern[str]] = field(default_factory=dict)

    def asked(self, question: str, language: str) -> tuple[str, ...]:
        """The types ``question`` asks for, by the cues of its language (and English), in
        the file's order ('When is the next meeting?' asks for a date and a later event)."""
        text = fold(question).translate(_APOSTROPHES)
        return tuple(
            kind
            for kind, by_language in self.cues.items()
            if any(
                (pattern := by_language.get(code)) is not None and pattern.search(text)
                for code in dict.fromkeys((language, "en"))
            )
        )

    def held(self, kind: str, passage: str) -> bool:
        """Whether ``passage`` holds an answer of ``kind`` (True when the type is unknown)."""
        pattern = self.holds.get(kind)
        return pattern is None or pattern.search(fold(passage)) is not None


def _gapped(phrase: str) -> str:
    """A phrase whose words may have one more word between them ('wie hoch war der
    wirtschaftliche schaden' for 'wie hoch war der schaden')."""
    return r"\s+(?:\w+[-']?\w*\s+)?".join(re.escape(w) for w in phrase.split())


def _phrases(cues: _Cues) -> re.Pattern[str]:
    """Whole-word matches; a one-word cue only among a question's first three words, unless
    it is one of the words that count ``anywhere``.

    In many languages the interrogative 'when' is also the conjunction ('när det gäller',
    'wanneer staten ...'); a question asks with it near its start.
    """
    folded = [fold(c).translate(_APOSTROPHES) for c in cues.cues]
    phrases = "|".join(_gapped(c) for c in folded if " " in c or "'" in c) or "(?!)"
    words = "|".join(re.escape(c) for c in folded if " " not in c and "'" not in c) or "(?!)"
    anywhere = "|".join(re.escape(fold(w)) for w in cues.anywhere) or "(?!)"
    return re.compile(
        rf"(?<!\w)(?:{phrases}|{anywhere})(?!\w)|^\W*(?:\w+\W+){{0,2}}(?:{words})(?!\w)"
    )


def load_answer_types(path: Path | None, document_language: str = "nl") -> AnswerTypes:
    """Read the answer-type file; none: no type is checked. ValueError names the file."""
    if path is None or not path.exists():
        return AnswerTypes()
    try:
        data = _AnswerTypeFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        holds = {
            kind: re.compile(pattern)
            for kind, pattern in data.passage.get(document_language, {}).items()
        }
    except (OSError, tomllib.TOMLDecodeError, ValueError, re.error) as error:
        raise ValueError(f"{path}: {error}") from error
    unheld = set(data.types) - set(holds)
    if holds and unheld:  # a type the document's language says nothing about
        raise ValueError(f"{path}: no [passage.{document_language}] pattern for {sorted(unheld)}")
    cues = {
        kind: {code: _phrases(entry) for code, entry in by_language.items()}
        for kind, by_language in data.types.items()
    }
    return AnswerTypes(cues, holds)


@dataclass(frozen=True)
class AbstentionPolicy:
    """Decides whether the document answers the question (see the module's docstring)."""

    document: Document
    min_similarity: float
    known_names: KnownNames
    answer_types: AnswerTypes = field(default_factory=AnswerTypes)
    instruction_margin: float = 0.0
    offtopic_margin: float = 0.0
    unanswered_margin: float = 0.0
    # The numbers the document mentions: read once, not for every question.
    _numbers: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        text = " ".join(p.text for p in self.document.paragraphs)
        object.__setattr__(self, "_numbers", frozenset(numbers(text)))

    def refusal(self, question: str, language: str, ranking: Ranking) -> Refusal | None:
        """Why not to answer, or None to answer."""
        best = ranking.best_similarity
        exemplars: tuple[tuple[RefusalKind, str, float, float], ...] = (
            ("instruction", "an instruction", ranking.instruction_similarity,
             self.instruction_margin),
            ("unanswered", "an everyday question", ranking.offtopic_similarity,
             self.offtopic_margin),
            ("unanswered", "a question the text does not answer",
             ranking.unanswered_similarity, self.unanswered_margin),
        )  # fmt: skip
        for kind, what, nearest, margin in exemplars:
            if nearest and nearest >= best + margin:
                return Refusal(
                    kind, f"nearer to {what} ({nearest:.3f}) than to the document ({best:.3f})"
                )
        reason = self.reason(question, language, ranking)
        return None if reason is None else Refusal("unanswered", reason)

    def reason(self, question: str, language: str, ranking: Ranking) -> str | None:
        """Why the document does not answer ``question``, or None when it may."""
        best = ranking.best_similarity
        if best < self.min_similarity:
            return f"best similarity {best:.3f} < {self.min_similarity:.3f}"
        missing = numbers(question) - self._numbers
        if missing:
            return f"asks about {', '.join(sorted(missing))}, which the document never mentions"
        unknown = [n for n in names(question, language) if not self.known_names.knows(n)]
        if unknown:
            return f"asks about {', '.join(unknown)}, which the document never mentions"
        top = ranking.order[0] if ranking.paragraphs else None
        if top is None:
            return None
        passage = self.document.paragraph(top).text
        for kind in self.answer_types.asked(question, language):
            if not self.answer_types.held(kind, passage):
                what = kind.replace("_", " ")
                article = "an" if what[0] in "aeiou" else "a"
                return f"asks for {article} {what}, which §{top} does not state"
        return None
