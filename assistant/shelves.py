"""The documents the service answers from, each with its own index, retriever and answerer.

A shelf is one document and the parts that answer from it. The configured document is
the first shelf; each document of the library is another. A question is ranked in every
shelf in scope and answered from the one whose best entry is nearest to it: paragraph
numbers stay each document's own, and a citation names its document.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.answering import Answerer
from assistant.result import DocumentInfo
from assistant.retrieval import HybridRetriever, Ranking, SearchQuery
from index.document import Document
from index.store import ParagraphIndex
from index.versions import Versions

__all__ = ["LibraryWatch", "Shelf", "route"]

log = logging.getLogger(__name__)


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
    the one holding the entry nearest to the question.

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
    # Each document's best entry: its sentences and paragraphs and, for the configured
    # document, the versions in the question's language and the questions it answers (with
    # their offset). Measured on the dev split with a second document in the library, this
    # kept every answerable question but one in its document (the date of "these
    # conclusions", which both cover notes give); the documents' own sentences alone lost 8.
    shelf, ranking = max(rankings, key=lambda pair: pair[1].best_similarity)
    if shelf is not first:
        ranking.instruction_similarity = exemplars.instruction_similarity
        ranking.offtopic_similarity = exemplars.offtopic_similarity
        ranking.unanswered_similarity = exemplars.unanswered_similarity
    return shelf, ranking


class LibraryWatch:
    """The library's shelves, loaded again when its catalogue changes (looked at once per
    ``every`` seconds): a running server takes up documents added or removed meanwhile."""

    def __init__(
        self, catalogue: Path, load: Callable[[], list[Shelf]], every: float = 10.0
    ) -> None:
        self._catalogue = catalogue
        self._load = load
        self._every = every
        self._seen = self._stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._catalogue.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def changed(self) -> list[Shelf] | None:
        """The library's shelves when its catalogue changed since the last look, else None."""
        now = time.monotonic()
        if now - self._checked < self._every or not self._lock.acquire(blocking=False):
            return None
        try:
            self._checked = now
            stamp = self._stamp()
            if stamp == self._seen:
                return None
            try:
                shelves = self._load()
            except Exception as error:  # a catalogue mid-write or an index being built
                log.warning("the library changed but could not be loaded: %s", error)
                return None
            self._seen = stamp
            return shelves
        finally:
            self._lock.release()
