"""The documents the service answers from, each with its own index, retriever and answerer.

A shelf is one document and the parts that answer from it. The configured document is
the first shelf; each document of the library is another. A question is ranked in every
shelf in scope and answered from the one whose best entry is nearest to it: paragraph
numbers stay each document's own, and a citation names its document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answering import Answerer
from assistant.result import DocumentInfo
from assistant.retrieval import HybridRetriever, Ranking, SearchQuery
from index.document import Document
from index.store import ParagraphIndex
from index.versions import Versions

__all__ = ["Shelf", "route"]


@dataclass(frozen=True)
class Shelf:
    """One document and the parts that answer from it."""

    info: DocumentInfo
    document: Document
    index: ParagraphIndex
    retriever: HybridRetriever
    answerer: Answerer
    versions: Versions

    @property
    def id(self) -> str:
        return self.info.id

    def close(self) -> None:
        self.answerer.close()
        self.index.close()


def route(shelves: Sequence[Shelf], query: SearchQuery) -> tuple[Shelf, Ranking]:
    """The shelf to answer ``query`` from (the first in scope wins a tie) and its ranking:
    the one holding the sentence nearest to the question.

    The first shelf is the configured document's: its index holds the exemplars of
    instructions and everyday questions, so it is always searched, and its nearness to
    them is carried into the chosen shelf's ranking (abstention reads it there).
    """
    first = shelves[0]
    scope = [s for s in shelves if not query.documents or s.id in query.documents]
    rankings = [(shelf, shelf.retriever.rank(query)) for shelf in scope]
    if first not in scope:
        exemplars = first.retriever.rank(replace(query, cited=()))
    else:
        exemplars = rankings[0][1]
    # Compared on the documents' own sentences only: the configured document's
    # questions and language versions would otherwise draw every question to it.
    shelf, ranking = max(
        rankings, key=lambda pair: max(pair[1].sentence_similarity.values(), default=0.0)
    )
    if shelf is not first:
        ranking.instruction_similarity = exemplars.instruction_similarity
        ranking.offtopic_similarity = exemplars.offtopic_similarity
    return shelf, ranking
