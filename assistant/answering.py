"""The answerer port, the offline answerer that quotes the document, and its abstention policy.

Every answerer composes from a retrieval ``Ranking``: the offline one quotes the
sentences that answer, each with its ``[§n]``; the generative one (``assistant.llm``)
lets a model write and verifies every citation. The service holds an ``Answerer``
and never asks which one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from assistant.result import Citation, Removal, Turn
from assistant.retrieval import Ranking
from assistant.text import KnownNames, names, numbers
from index.document import Document
from prompts.messages import MessageBook, Messages

__all__ = [
    "AbstentionPolicy",
    "AnswerStream",
    "Answerer",
    "Composed",
    "ExtractiveAnswerer",
    "FaultKind",
    "abstention",
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


@dataclass(frozen=True)
class AbstentionPolicy:
    """Decides whether the document answers the question.

    One similarity threshold only rejects far-off-topic questions: in-domain
    questions the text does not answer score as high as real ones. Two more
    signals catch those: a number the question asks about that the document never
    mentions, and a name (a capitalised word inside the question, or an acronym)
    that is neither in the document nor among its names in other languages.
    """

    min_similarity: float
    known_names: KnownNames

    def reason(
        self, question: str, language: str, ranking: Ranking, document_text: str
    ) -> str | None:
        """Why to abstain, or None to answer."""
        best = ranking.best_similarity
        if best < self.min_similarity:
            return f"best similarity {best:.3f} < {self.min_similarity:.3f}"
        missing = numbers(question) - numbers(document_text)
        if missing:
            return f"asks about {', '.join(sorted(missing))}, which the document never mentions"
        unknown = [n for n in names(question, language) if not self.known_names.knows(n)]
        if unknown:
            return f"asks about {', '.join(unknown)}, which the document never mentions"
        return None


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
    ) -> None:
        self._document = document
        self._messages = messages
        self._policy = policy
        self._max_paragraphs = max_paragraphs
        self._margin = margin
        self._text = " ".join(p.text for p in document.paragraphs)

    def answer(self, question: str, language: str, ranking: Ranking) -> Composed:
        texts = self._messages.for_language(language)
        reason = self._policy.reason(question, language, ranking, self._text)
        if reason is not None:
            return abstention(texts, ranking, reason)
        citations = [self._cite(n, ranking) for n in self._chosen(ranking)]
        lines = [texts.quoting] if texts.quoting else []
        for citation in citations:
            quoted = " ".join(s.text for s in citation.sentences)
            lines.append(f"{quoted} [§{citation.paragraph}]")
        return Composed("\n".join(lines), citations, False, [], None)

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
        top = ranking.paragraphs[0]
        chosen = [top.paragraph]
        for candidate in ranking.paragraphs[1 : self._max_paragraphs]:
            if candidate.dense >= top.dense - self._margin and candidate.score > 0:
                chosen.append(candidate.paragraph)
        return chosen

    def _cite(self, number: int, ranking: Ranking) -> Citation:
        paragraph = self._document.paragraph(number)
        # A heading or an introductory formula ("... aangenomen:") says nothing on its
        # own: quote complete sentences where the paragraph has any.
        complete = [s for s in paragraph.sentences if s.text.endswith((".", "!", "?"))]
        scored = [
            (ranking.sentence_similarity.get((number, s.index), 0.0), s)
            for s in complete or paragraph.sentences
        ]
        best = max(score for score, _ in scored)
        picked = [s for score, s in scored if score >= best - self._margin]
        return Citation.quoting(paragraph, picked)
