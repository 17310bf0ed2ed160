"""Index-time enrichment: more vectors than the text's own, each pointing somewhere.

LangChain's multi-vector pattern: many vectors point at one paragraph. A question a
paragraph answers, phrased as askers phrase it and in their languages, is closer to a
new question than the paragraph's own Dutch sentences are. The questions file is
reviewed data (``{"paragraph": n, "lang": "xx", "question": "..."}`` a line), shipped
beside the document or written by ``assistant enrich`` for review.

Exemplars (``{"lang": "xx", "text": "..."}``) point at no paragraph: a question nearer to
the instruction exemplars than to anything in the document is an instruction, not a
question about it; one nearer to the everyday (off-topic) exemplars is about something
else; one nearer to the unanswered exemplars (on the document's subject, but asking for
what its text does not state: an amount, a perpetrator, who chaired, a later event) asks
what the document does not say. The index records the hash of every file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index.document import Document

__all__ = ["Enrichment", "Exemplar", "ParagraphQuestion", "load_enrichment"]


class ParagraphQuestion(BaseModel):
    """One question a paragraph answers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    paragraph: int = Field(ge=0)
    lang: str = Field(min_length=2, max_length=3)
    question: str = Field(min_length=3, max_length=500)


class Exemplar(BaseModel):
    """A reviewed example of a kind of question: an instruction, an everyday question, or
    one on the document's subject that its text does not answer."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    lang: str = Field(min_length=2, max_length=3)
    text: str = Field(min_length=3, max_length=500)
    # What it asks for (amount, attribution, date ...): for reviewers, not for the index.
    kind: str | None = Field(default=None, max_length=40)


@dataclass(frozen=True)
class Enrichment:
    """What an index is built with beyond the text, and the hash the index records."""

    questions: tuple[ParagraphQuestion, ...] = ()
    instructions: tuple[Exemplar, ...] = ()
    offtopic: tuple[Exemplar, ...] = ()
    unanswered: tuple[Exemplar, ...] = ()
    sha256: str = "none"

    def __len__(self) -> int:
        exemplars = len(self.instructions) + len(self.offtopic) + len(self.unanswered)
        return len(self.questions) + exemplars


_Line = TypeVar("_Line", bound=BaseModel)


def _read(path: Path | None, model: type[_Line]) -> tuple[list[_Line], str, list[str]]:
    """The valid lines of a JSONL file, its text, and a ``file:line: why`` per bad line."""
    if path is None or not path.exists():
        return [], "", []
    raw = path.read_text(encoding="utf-8")
    items: list[_Line] = []
    problems: list[str] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as error:
            problems.append(f"{path}:{number}: {str(error).splitlines()[0]}")
    return items, raw, problems


def load_enrichment(
    questions_path: Path | None,
    instructions_path: Path | None,
    document: Document,
    offtopic_path: Path | None = None,
    unanswered_path: Path | None = None,
) -> Enrichment:
    """Read the questions and exemplar files; a missing path or file adds nothing.

    Raises:
        ValueError: lines that are not valid, or questions naming a paragraph the
            document does not have, each as ``file:line: why``.
    """
    questions, raw_questions, problems = _read(questions_path, ParagraphQuestion)
    instructions, raw_instructions, more = _read(instructions_path, Exemplar)
    offtopic, raw_offtopic, other = _read(offtopic_path, Exemplar)
    unanswered, raw_unanswered, besides = _read(unanswered_path, Exemplar)
    known = {p.number for p in document.paragraphs}
    problems += [
        f"{questions_path}: there is no paragraph {q.paragraph} ({q.question!r})"
        for q in questions
        if q.paragraph not in known
    ]
    if problems or more or other or besides:
        raise ValueError("\n".join(problems + more + other + besides))
    if not questions and not instructions and not offtopic and not unanswered:
        return Enrichment()
    raw = f"{raw_questions}\0{raw_instructions}\0{raw_offtopic}"
    if unanswered:  # an index built before this file existed keeps its hash
        raw += f"\0{raw_unanswered}"
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return Enrichment(
        tuple(questions), tuple(instructions), tuple(offtopic), tuple(unanswered), digest
    )
