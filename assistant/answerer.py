"""The offline answerer: quotes the sentences that answer, each with its [§n], or abstains."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.prompts import MessageBook
from assistant.result import Citation, CitedSentence
from assistant.retrieval import Ranking
from assistant.text import fold, names, numbers
from index.document import Document

__all__ = ["AbstentionPolicy", "Composed", "ExtractiveAnswerer"]


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
    known_names: frozenset[str]

    def _known(self, name: str) -> bool:
        folded = fold(name)
        # Compounds and plurals: 'Raadsformatie' and 'ICTs' build on known names.
        return folded in self.known_names or any(
            len(known) >= 3 and folded.startswith(known) for known in self.known_names
        )

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
        unknown = [n for n in names(question, language) if not self._known(n)]
        if unknown:
            return f"asks about {', '.join(unknown)}, which the document never mentions"
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
        margin: float = 0.0,
    ) -> None:
        self._document = document
        self._messages = messages
        self._policy = policy
        self._max_paragraphs = max_paragraphs
        self._margin = margin
        self._text = " ".join(p.text for p in document.paragraphs)

    def compose(self, question: str, language: str, ranking: Ranking) -> Composed:
        texts = self._messages.for_language(language)
        reason = self._policy.reason(question, language, ranking, self._text)
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
        # A heading or an introductory formula ("... aangenomen:") says nothing on its
        # own: quote complete sentences where the paragraph has any.
        complete = [s for s in paragraph.sentences if s.text.endswith((".", "!", "?"))]
        scored = [
            (ranking.sentence_similarity.get((number, s.index), 0.0), s)
            for s in complete or paragraph.sentences
        ]
        best = max(score for score, _ in scored)
        picked = [s for score, s in scored if score >= best - self._margin]
        return Citation(
            paragraph=number,
            text=paragraph.text,
            sentences=[
                CitedSentence(index=s.index, text=s.text, start=s.start, end=s.end) for s in picked
            ],
        )
