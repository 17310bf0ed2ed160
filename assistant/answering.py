"""The answerer port, and the offline answerer that quotes the document (or abstains).

Every answerer composes from a retrieval ``Ranking``: the offline one quotes the
sentences that answer, each with its ``[§n]``; the generative one (``assistant.llm``)
lets a model write and verifies every citation. The service holds an ``Answerer``
and never asks which one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from assistant.abstention import AbstentionPolicy
from assistant.result import Citation, ClaimSupport, QuotedVersion, Removal, Turn
from assistant.retrieval import Ranking
from index.document import Document, Sentence
from index.versions import DocumentVersion, Versions
from prompts.messages import MessageBook, Messages

__all__ = [
    "AnswerStream",
    "Answerer",
    "Composed",
    "ExtractiveAnswerer",
    "FaultKind",
    "abstention",
    "with_version",
]

FaultKind = Literal[
    "connection", "timeout", "rate_limited", "server_error", "client_error",
    "empty", "malformed", "unverified",
]  # fmt: skip


@dataclass(frozen=True)
class Composed:
    """An answer before it is wrapped in a result; the last fields are the generative path's."""

    answer: str
    citations: list[Citation]
    abstained: bool
    suggestions: list[int]
    reason: str | None
    generated: bool = False  # the shown text was written by a model (and verified)
    notice: str | None = None  # shown above an offline answer, or below a cut-off one
    fallback: FaultKind | None = None  # why a model's answer was not used
    fallback_detail: str | None = None
    removed: tuple[Removal, ...] = ()  # what verification removed
    given: tuple[int, ...] = ()  # paragraphs given to the model
    support: tuple[ClaimSupport, ...] = ()  # the span each kept sentence rests on
    quote_language: str | None = None  # of the quoted text (None: nothing quoted)


class AnswerStream(Iterator[str]):
    """An answer's text as it is produced; ``result`` holds the whole answer once exhausted."""

    def __init__(self, run: Callable[[AnswerStream], Generator[str, None, None]]) -> None:
        self._result: Composed | None = None
        self._chunks = run(self)

    def __next__(self) -> str:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early (the reader went away); an answerer's model stream is closed too."""
        self._chunks.close()

    def finish(self, result: Composed) -> None:
        """Called by the producer with the whole answer, before its last piece."""
        self._result = result

    @property
    def result(self) -> Composed:
        if self._result is None:
            raise RuntimeError("the stream has not been read to the end")
        return self._result


class Answerer(Protocol):
    """Composes an answer (or an abstention) from a question and its retrieval ranking."""

    def answer(self, question: str, language: str, ranking: Ranking) -> Composed:
        """The whole answer at once."""
        ...

    def stream(self, question: str, language: str, ranking: Ranking) -> AnswerStream:
        """The answer in pieces that join to it; ``result`` once read to the end."""
        ...

    def rewrite(self, question: str, history: Sequence[Turn]) -> str | None:
        """A standalone search query for a follow-up, or None to search as asked."""
        ...

    def close(self) -> None:
        """Release what the answerer holds (connections)."""
        ...


def abstention(texts: Messages, ranking: Ranking, reason: str) -> Composed:
    """The abstention in the asker's language, offering the two nearest paragraphs."""
    nearest = ranking.order[:2]
    listed = ", ".join(f"§{n}" for n in nearest)
    answer = f"{texts.abstain} {texts.suggest.format(paragraphs=listed)}"
    return Composed(answer, [], True, nearest, reason)


class ExtractiveAnswerer:
    """Picks the best sentences of the top paragraphs and cites each one."""

    def __init__(
        self,
        document: Document,
        messages: MessageBook,
        policy: AbstentionPolicy,
        *,
        max_paragraphs: int = 2,
        margin: float = 0.0,
        sentence_margin: float = 0.0,
        versions: Versions | None = None,
    ) -> None:
        self._document = document
        self._versions = versions or Versions()
        self._messages = messages
        self._policy = policy
        self._max_paragraphs = max_paragraphs
        self._margin = margin
        self._sentence_margin = sentence_margin

    def answer(self, question: str, language: str, ranking: Ranking) -> Composed:
        texts = self._messages.for_language(language)
        refusal = self._policy.refusal(question, language, ranking)
        if refusal is not None and refusal.kind == "instruction":
            return Composed(texts.instruction, [], True, [], refusal.reason)
        if refusal is not None:
            return abstention(texts, ranking, refusal.reason)
        version = self._versions.get(language)
        citations = [self._cite(n, ranking, version) for n in self._chosen(ranking)]
        if version is None:
            lines = [texts.quoting] if texts.quoting else []
            for citation in citations:
                lines.append(f"{_joined(citation.sentences)} [§{citation.paragraph}]")
            return Composed(
                "\n".join(lines), citations, False, [], None,
                quote_language=self._versions.original,
            )  # fmt: skip
        # The asker's own language first, labelled, with the original under each quote.
        lines = [texts.version_line(version.status)]
        for citation in citations:
            quoted = citation.version.sentences if citation.version else []
            lines.append(f"{_joined(quoted)} [§{citation.paragraph}]")
            lines.append(
                f"{texts.original} ({self._versions.original}): {_joined(citation.sentences)}"
            )
        return Composed(
            "\n".join(lines), citations, False, [], None, quote_language=version.language
        )

    def stream(self, question: str, language: str, ranking: Ranking) -> AnswerStream:
        """The offline answer as one piece."""

        def run(holder: AnswerStream) -> Generator[str, None, None]:
            composed = self.answer(question, language, ranking)
            holder.finish(composed)
            yield composed.answer

        return AnswerStream(run)

    def rewrite(self, question: str, history: Sequence[Turn]) -> str | None:
        """None: the retriever reads earlier turns itself (their questions and citations)."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    def _chosen(self, ranking: Ranking) -> list[int]:
        # A further paragraph is quoted when its own text fits as well as the top one's
        # (not a question it answers: those say where to look, not what to quote).
        top = ranking.paragraphs[0]
        best = ranking.text_similarity(top.paragraph)
        chosen = [top.paragraph]
        for candidate in ranking.paragraphs[1 : self._max_paragraphs]:
            fits = ranking.text_similarity(candidate.paragraph) >= best - self._margin
            if fits and candidate.score > 0:
                chosen.append(candidate.paragraph)
        return chosen

    def _cite(self, number: int, ranking: Ranking, version: DocumentVersion | None) -> Citation:
        paragraph = self._document.paragraph(number)
        rendered = version.paragraph(number) if version else None
        # A heading or an introductory formula ("... aangenomen:") says nothing on its
        # own: quote complete sentences where the paragraph has any.
        complete = [s for s in paragraph.sentences if s.text.endswith((".", "!", "?"))]

        def similarity(sentence: Sentence) -> float:
            # A sentence-aligned version in the question's language is compared in that
            # language, which ranks its sentences more surely than across languages.
            if rendered is not None and rendered.aligned:
                key = (number, sentence.index)
                if key in ranking.version_similarity:
                    return ranking.version_similarity[key]
            return ranking.sentence_similarity.get((number, sentence.index), 0.0)

        scored = [(similarity(s), s) for s in complete or paragraph.sentences]
        best = max(score for score, _ in scored)
        picked = [s for score, s in scored if score >= best - self._sentence_margin]
        return with_version(Citation.quoting(paragraph, picked), version, self._messages)


def _joined(sentences: Sequence[Sentence]) -> str:
    return " ".join(s.text for s in sentences)


def with_version(
    citation: Citation, version: DocumentVersion | None, messages: MessageBook
) -> Citation:
    """``citation`` with the same passage in ``version`` (its aligned sentences, or the
    whole paragraph where the version is not aligned by sentence)."""
    if version is None:
        return citation
    rendered = version.paragraph(citation.paragraph)
    quoted = rendered.counterpart(s.index for s in citation.sentences)
    label = messages.for_language(version.language).label(version.status)
    return citation.model_copy(
        update={
            "version": QuotedVersion(
                language=version.language,
                status=version.status,
                label=label,
                text=rendered.text,
                sentences=list(quoted),
                aligned=rendered.aligned,
            )
        }
    )
