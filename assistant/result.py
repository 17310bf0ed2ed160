"""The one result type every caller gets (CLI, API, UI, evaluation)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.text import has_surrogate
from index.document import Document, Paragraph, Sentence

if TYPE_CHECKING:
    from assistant.settings import Settings
    from index.library import LibraryEntry

__all__ = [
    "AnswerResult",
    "Citation",
    "ClaimSupport",
    "DocumentInfo",
    "ParagraphVersion",
    "QuotedVersion",
    "RankedParagraph",
    "Removal",
    "Turn",
]


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)

    @field_validator("content")
    @classmethod
    def _text(cls, value: str) -> str:
        if has_surrogate(value):
            raise ValueError("the text contains a lone surrogate (\\ud800-\\udfff), not Unicode")
        return value


class QuotedVersion(BaseModel):
    """What a citation quotes from a language version of its paragraph."""

    language: str
    status: Literal["official", "unofficial translation"]
    label: str = Field(description="The status as shown, in the version's language.")
    text: str = Field(description="The version's paragraph.")
    sentences: list[Sentence] = Field(
        description=(
            "The version's sentences quoted (offsets in its text): one per cited sentence of "
            "the original when the paragraph is aligned by sentence, all of them otherwise."
        )
    )
    aligned: bool = Field(description="Whether sentence i renders the original's sentence i.")


class ParagraphVersion(BaseModel):
    """A paragraph in a language version, with what a reader needs to label it."""

    number: int
    language: str
    status: Literal["official", "unofficial translation"]
    label: str = Field(description="The status as shown, in the version's language.")
    original_language: str
    original_label: str = Field(description="What the original is called, in that language.")
    text: str
    sentences: list[Sentence]
    aligned: bool = Field(description="Whether sentence i renders the original's sentence i.")


class Citation(BaseModel):
    """A paragraph an answer cites, with the sentences it quotes (offsets in its text)."""

    paragraph: int
    text: str
    sentences: list[Sentence]
    version: QuotedVersion | None = Field(
        default=None, description="The same passage in the asker's language, where one exists."
    )
    document: str | None = Field(
        default=None, description="The id of the document whose paragraph this is."
    )

    @classmethod
    def quoting(cls, paragraph: Paragraph, sentences: Iterable[Sentence]) -> Citation:
        """A citation of ``paragraph`` that quotes ``sentences`` (its own), in text order."""
        return cls(
            paragraph=paragraph.number,
            text=paragraph.text,
            sentences=sorted(sentences, key=lambda s: s.index),
        )


class DocumentInfo(BaseModel):
    """A document the assistant answers from: the configured one first, then the library's."""

    id: str
    title: str
    date: str | None = None
    language: str
    paragraphs: int = Field(description="How many numbered units it has (0 = its cover note).")
    added: str | None = Field(default=None, description="When it joined the library (UTC).")
    removable: bool = Field(description="False for the configured document (a setting).")

    @classmethod
    def configured(cls, settings: Settings, document: Document) -> DocumentInfo:
        """The configured document, as the settings name it."""
        return cls(
            id=settings.document_key,
            title=settings.document_title,
            date=settings.document_date,
            language=settings.document_language,
            paragraphs=len(document.paragraphs),
            removable=False,
        )

    @classmethod
    def added_as(cls, entry: LibraryEntry) -> DocumentInfo:
        """A document of the library, as its catalogue entry describes it."""
        return cls(**entry.model_dump(exclude={"source_sha256"}), removable=True)


class RankedParagraph(BaseModel):
    """A paragraph in the retrieval ranking, best first."""

    paragraph: int
    score: float = Field(description="Fused score (higher is better).")
    dense: float = Field(description="Best cosine similarity of its sentences or itself.")
    bm25: float = Field(description="BM25 score of the paragraph (0 when no term matched).")


class AnswerResult(BaseModel):
    """An answer with citations, or an abstention with suggestions."""

    id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        description="The answer's id: its link, export and feedback use it.",
    )
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    ranked: list[RankedParagraph]
    suggestions: list[int] = Field(
        default_factory=list, description="Nearest paragraphs offered when abstaining."
    )
    language: str = Field(description="Detected language of the question (ISO 639-1).")
    document: str | None = Field(
        default=None, description="The id of the document the answer comes from."
    )
    document_title: str | None = None
    quote_language: str | None = Field(
        default=None,
        description=(
            "Language of the quoted text: the asker's, when a version in it exists, else the "
            "document's; None when nothing was quoted (an abstention)."
        ),
    )
    abstain_reason: str | None = None
    generated: bool = Field(
        default=False, description="Written by the LLM, every citation verified in code."
    )
    notice: str | None = Field(
        default=None,
        description="Shown with the answer: why the offline answer is shown, or that it was cut.",
    )
    fallback: str | None = Field(
        default=None,
        description=(
            "Why the LLM's answer was not used: connection, timeout, rate_limited, "
            "server_error, client_error, empty, malformed or unverified."
        ),
    )
    support: list[ClaimSupport] = Field(
        default_factory=list,
        description=(
            "For a generated answer: each kept sentence with the span of the document that "
            "supports it (one entry per citation it kept)."
        ),
    )
    removed: list[Removal] = Field(
        default_factory=list, description="Citations and sentences verification removed, and why."
    )
    rewritten_query: str | None = Field(
        default=None, description="The standalone query the LLM made of a follow-up question."
    )
    search_query: str = Field(description="The text retrieval searched with.")
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def cited_paragraphs(self) -> list[int]:
        return [c.paragraph for c in self.citations]


class ClaimSupport(BaseModel):
    """The span of the document a kept sentence of a generated answer rests on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claim: str = Field(description="The answer's sentence, without its citation markers.")
    paragraph: int
    sentence: int = Field(description="Index of the supporting sentence in its paragraph.")
    start: int = Field(description="Offset of the span in the paragraph's text.")
    end: int
    text: str = Field(description="The supporting sentence itself.")


class Removal(BaseModel):
    """A marker or sentence removed from a generated answer, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["citation", "sentence"]
    paragraph: int | None
    text: str
    reason: str
