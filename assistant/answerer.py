"""The offline answerer: quotes the sentences that answer, each with its [§n], or abstains."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.prompts import MessageBook
from assistant.result import Citation, CitedSentence
from assistant.retrieval import Ranking
from assistant.text import content_terms, numbers
from index.document import Document

__all__ = ["AbstentionPolicy", "Composed", "ExtractiveAnswerer"]


@dataclass(frozen=True)
class AbstentionPolicy:
    """Decides whether the document answers the question.

    One similarity threshold only rejects far-off-topic questions, so two more
    signals catch in-domain questions the text does not answer: a number the
    question asks about that the document never mentions, and (for Dutch, where
    words can be compared) a question most of whose content words the document
    never uses.
    """

    min_similarity: float
    max_unknown_share: float

    def reason(
        self, question: str, language: str, ranking: Ranking, document_text: str,
        vocabulary: frozenset[str],
    ) -> str | None:
        """Why to abstain, or None to answer."""
        best = ranking.best_similarity
        if best < self.min_similarity:
            return f"best similarity {best:.3f} < {self.min_similarity:.3f}"
        missing = numbers(question) - numbers(document_text)
        if missing:
            return f"asks about {', '.join(sorted(missing))}, which the document never mentions"
        if language == "nl":
            terms = content_terms(question, "nl")
            if terms:
                unknown = [t for t in terms if t not in vocabulary]
                share = len(unknown) / len(terms)
                if share > self.max_unknown_share:
                    return f"{share:.0%} of the question's words are not in the document"
        return None


@dataclass(frozen=True)
class Composed:
    """The composed answer before it is wrapped in a result."""

    answer: str
    citations: list[Citation]
    abstained: bool
    suggestions: list[int]
    reason: str | None


class ExtractiveAnswerer:
    """Picks the best sentences of the top paragraphs and cites each one."""

    def __init__(
        self,
        document: Document,
        messages: MessageBook,
        policy: AbstentionPolicy,
        *,
        max_paragraphs: int = 2,
        margin: float = 0.015,
    ) -> None:
        self._document = document
        self._messages = messages
        self._policy = policy
        self._max_paragraphs = max_paragraphs
        self._margin = margin
        self._text = " ".join(p.text for p in document.paragraphs)
        self._vocabulary = frozenset(content_terms(self._text, "nl"))

    def compose(self, question: str, language: str, ranking: Ranking) -> Composed:
        texts = self._messages.for_language(language)
        reason = self._policy.reason(question, language, ranking, self._text, self._vocabulary)
        if reason is not None:
            nearest = ranking.order[:2]
            listed = ", ".join(f"§{n}" for n in nearest)
            answer = f"{texts.abstain} {texts.suggest.format(paragraphs=listed)}"
            return Composed(answer, [], True, nearest, reason)
        citations = [self._cite(n, ranking) for n in self._chosen(ranking)]
        lines = [texts.quoting] if texts.quoting else []
        for citation in citations:
            quoted = " ".join(s.text for s in citation.sentences)
            lines.append(f"{quoted} [§{citation.paragraph}]")
        return Composed("\n".join(lines), citations, False, [], None)

    def _chosen(self, ranking: Ranking) -> list[int]:
        top = ranking.paragraphs[0]
        chosen = [top.paragraph]
        for candidate in ranking.paragraphs[1 : self._max_paragraphs]:
            if candidate.dense >= top.dense - self._margin and candidate.score > 0:
                chosen.append(candidate.paragraph)
        return chosen

    def _cite(self, number: int, ranking: Ranking) -> Citation:
        paragraph = self._document.paragraph(number)
        scored = [
            (ranking.sentence_similarity.get((number, s.index), 0.0), s)
            for s in paragraph.sentences
        ]
        best = max(score for score, _ in scored)
        picked = [s for score, s in scored if score >= best - self._margin / 3]
        return Citation(
            paragraph=number,
            text=paragraph.text,
            sentences=[
                CitedSentence(index=s.index, text=s.text, start=s.start, end=s.end) for s in picked
            ],
        )
