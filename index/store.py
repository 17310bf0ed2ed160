"""The Chroma index of a document: one entry per sentence and per paragraph.

The collection's metadata records what it was built from (source hash, cleaning
version, embedder identity, schema). ``ensure`` is a no-op when all of that still
matches, and otherwise rebuilds into a fresh collection that replaces the old one
only once it is complete, so a failed build never leaves a half-written index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.clients import IndexError_, build_lock, check_free_space, close_client
from index.document import Document
from index.embedders import Embedder
from index.enrichment import Enrichment
from index.entries import index_entries
from index.vectors import Hit, KeptVectors, Memory, Scored, unit
from index.versions import Versions

__all__ = [
    "Hit",
    "IndexError_",
    "IndexReport",
    "ParagraphIndex",
]

SCHEMA_VERSION = "4"
_BATCH = 64
log = logging.getLogger(__name__)


def _absent(error: Exception) -> bool:
    """Whether Chroma's error says the collection does not exist (local or server)."""
    return "does not exist" in str(error) or "not found" in str(error).lower()


# Entries an index too large for memory returns per question through Chroma's HNSW: a
# ranking lists at most 100 paragraphs, and a paragraph has a handful of entries.
LARGE_K = 1_000
REFRESH_SECONDS = 10.0  # how often a search looks whether the index was rebuilt elsewhere


@dataclass(frozen=True)
class IndexReport:
    """What ``ensure`` did."""

    built: bool
    reason: str
    seconds: float
    entries: int
    embedded: int = 0  # texts a build embedded; the others kept the previous index's vectors


class ParagraphIndex:
    """A document's sentences and paragraphs embedded in a Chroma collection."""

    def __init__(
        self,
        client: Any,
        collection: str,
        embedder: Embedder,
        *,
        lock_dir: Path | None = None,
        in_memory: int | None = None,
    ) -> None:
        self._client = client
        self._name = collection
        self._embedder = embedder
        self._lock_dir = lock_dir
        self._in_memory = in_memory  # entries searched in memory at most (None: IN_MEMORY)
        self._store: Any = None
        self._bound: Any = None  # the collection the store was bound to
        self._memory: Memory | None = None  # what a search compares in memory
        self.entries = 0  # known once ``ensure`` ran

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def _expected(
        self, document: Document, enrichment: Enrichment, versions: Versions
    ) -> dict[str, str | int]:
        own = sum(len(p.sentences) + 1 for p in document.paragraphs)
        translated = sum(len(p.sentences) + 1 for v in versions for p in v.paragraphs)
        return {
            "source_sha256": document.source_sha256,
            "cleaning_version": document.cleaning_version,
            "enrichment_sha256": enrichment.sha256,
            "versions_sha256": versions.sha256,
            "embedder": self._embedder.identity,
            "schema": SCHEMA_VERSION,
            "entries": own + translated + len(enrichment),
            "hnsw:space": "cosine",
        }

    @property
    def _previous(self) -> str:
        return f"{self._name}-previous"

    def _get(self, name: str) -> Any | None:
        try:
            return self._client.get_collection(name, embedding_function=None)
        except Exception as error:
            if _absent(error):
                return None
            raise IndexError_(f"the index collection '{name}' is unreadable: {error}") from error

    def _collection(self) -> Any | None:
        # '<name>-previous' exists on its own only when a swap was cut short
        # (see _swap_in): it is then the complete index to serve.
        found = self._get(self._name)
        return found if found is not None else self._get(self._previous)

    def status(
        self,
        document: Document,
        enrichment: Enrichment | None = None,
        versions: Versions | None = None,
    ) -> str:
        """'current', or the reason the index must be (re)built."""
        enrichment = Enrichment() if enrichment is None else enrichment
        versions = Versions() if versions is None else versions
        collection = self._collection()
        if collection is None:
            return "no index yet"
        metadata = collection.metadata or {}
        for key, value in self._expected(document, enrichment, versions).items():
            if metadata.get(key) != value:
                return f"{key} changed ({metadata.get(key)!r} -> {value!r})"
        try:
            count = collection.count()
        except Exception as error:
            return f"the collection is unreadable ({error})"
        if count != metadata.get("entries"):
            return f"the collection holds {count} entries, expected {metadata.get('entries')}"
        return "current"

    def ensure(
        self,
        document: Document,
        *,
        enrichment: Enrichment | None = None,
        versions: Versions | None = None,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Build the index unless it is current; ``rebuild`` forces a build.

        Args:
            enrichment: questions embedded beside the paragraphs they point at.
            versions: language versions, each sentence embedded pointing at its paragraph.
        """
        started = time.perf_counter()
        enrichment = Enrichment() if enrichment is None else enrichment
        versions = Versions() if versions is None else versions
        self.entries = int(self._expected(document, enrichment, versions)["entries"])
        reason = "rebuild requested" if rebuild else self.status(document, enrichment, versions)
        if reason == "current":
            # The vector store is opened on the first search, not here: a no-op
            # 'assistant index' should not pay for importing it.
            return IndexReport(False, reason, time.perf_counter() - started, self.count())
        with build_lock(self._lock_dir):
            # Another process may have built it while we waited for the lock.
            if not rebuild and self.status(document, enrichment, versions) == "current":
                return IndexReport(
                    False, "built by another process", time.perf_counter() - started, self.count()
                )
            log.info("building index '%s': %s", self._name, reason)
            if self._lock_dir is not None:
                check_free_space(self._lock_dir / "chroma", self._kept)
            embedded = self._build(document, enrichment, versions, progress)
        return IndexReport(True, reason, time.perf_counter() - started, self.count(), embedded)

    def _build(
        self,
        document: Document,
        enrichment: Enrichment,
        versions: Versions,
        progress: Callable[[int, int], None] | None,
    ) -> int:
        """Build into a staging collection and swap it in; the number of texts embedded."""
        ids, texts, metadatas = index_entries(document, enrichment, versions)
        staging_name = f"{self._name}-staging"
        self._drop(staging_name)
        embedded = 0
        try:
            kept = KeptVectors.of(self._collection(), self._embedder)
            staging = self._client.create_collection(
                staging_name,
                metadata=self._expected(document, enrichment, versions),
                embedding_function=None,
            )
            for start in range(0, len(texts), _BATCH):
                batch = slice(start, start + _BATCH)
                vectors = kept.vectors(texts[batch], self._embedder)
                embedded += kept.fresh
                staging.add(
                    ids=ids[batch],
                    embeddings=vectors,
                    documents=texts[batch],
                    metadatas=metadatas[batch],
                )
                if progress:
                    progress(min(start + _BATCH, len(texts)), len(texts))
        except Exception as error:
            # A full disk lands here. Dropping the half-built collection gives its
            # files back; the old index was never touched.
            self._drop(staging_name)
            raise IndexError_(
                f"building the index failed ({type(error).__name__}: {error}); {self._kept()}"
            ) from error
        self._swap_in(staging)
        return embedded

    def _swap_in(self, staging: Any) -> None:
        """Make the complete ``staging`` collection the index, with no moment without one.

        The old index is renamed to '<name>-previous' before the new one takes its
        name, and dropped only after. A failure in between leaves either name
        holding a complete index, which is what ``_collection`` serves.
        """
        try:
            old = self._get(self._name)
            if old is not None:
                # A '-previous' beside a complete index is a leftover; alone, it is the
                # index being served, and it stays until the new one has the name.
                self._drop(self._previous)
                old.modify(name=self._previous)
            staging.modify(name=self._name)
        except Exception as error:
            self._drop(staging.name)
            raise IndexError_(
                f"installing the new index failed ({type(error).__name__}: {error}); {self._kept()}"
            ) from error
        self._store = self._memory = None
        self._drop(self._previous)  # if that fails, the next build drops it

    def _kept(self) -> str:
        try:
            kept = self._collection() is not None
        except IndexError_:
            kept = False
        return "the previous index is unchanged" if kept else "there is no usable index yet"

    def drop(self) -> None:
        """Delete the index (its collection and any staging or previous one)."""
        with build_lock(self._lock_dir):
            for name in (self._name, self._previous, f"{self._name}-staging"):
                self._drop(name)
        self._store = self._memory = None

    def _drop(self, name: str) -> None:
        # An absent collection is the common, harmless case; anything else is
        # worth a line in the log, not a failure of the caller.
        try:
            self._client.delete_collection(name)
        except Exception as error:
            if not _absent(error):
                log.warning("could not drop collection '%s': %s", name, error)

    def _open(self) -> Any:
        if self._store is None:
            from langchain_chroma import Chroma

            collection = self._collection()
            self._bound = collection
            self._store = Chroma(
                client=self._client,
                collection_name=self._name if collection is None else collection.name,
                embedding_function=self._embedder,
                create_collection_if_not_exists=False,
            )
        return self._store

    def close(self) -> None:
        """Release the client's connections and files (idempotent)."""
        self._store = self._memory = None
        close_client(self._client)

    def count(self) -> int:
        collection = self._collection()
        return 0 if collection is None else int(collection.count())

    def search(self, vector: list[float], k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        """The ``k`` entries nearest to ``vector`` (matching ``where``), by cosine similarity
        (through LangChain's Chroma store)."""
        results = self._retried(
            lambda: self._open().similarity_search_by_vector_with_relevance_scores(
                vector, k=k, filter=where
            )
        )
        return [Hit.of(doc.metadata, distance) for doc, distance in results]

    def _retried(self, query: Callable[[], Any]) -> Any:
        """``query``'s result, asked once more of a collection looked up again by name when
        it fails (another process may have rebuilt the index, retiring the one bound)."""
        try:
            return query()
        except Exception:
            self._store = self._memory = None
            try:
                return query()
            except Exception as error:
                self._store = self._memory = None
                raise IndexError_(f"the index could not be searched: {error}") from error

    def _nearest(self, vector: list[float], k: int) -> Scored:
        """The ``k`` nearest entries as arrays, asked of the collection itself: a thousand
        hits made into LangChain documents, text and all, cost more than the search."""

        def query() -> Any:
            self._open()  # binds the collection the store searches
            return self._bound.query(
                query_embeddings=[vector], n_results=k, include=["metadatas", "distances"]
            )

        found = self._retried(query)
        hits = map(Hit.of, found["metadatas"][0], found["distances"][0])
        return Scored.of_hits([h for h in hits if h.paragraph >= 0])

    def search_all(self, vector: list[float]) -> list[Hit]:
        """Every entry of the document (sentences, paragraphs, questions), nearest first
        (of an index too large for memory, the ``LARGE_K`` nearest), and the nearest
        exemplar of each kind (instruction, everyday question)."""
        return self.scored(vector).hits()

    def scored(self, vector: list[float]) -> Scored:
        """Every entry's similarity to ``vector``, as arrays, and the nearest exemplars'.

        The exemplars, and the entries of an index of up to ``IN_MEMORY`` of them, are
        compared in memory, exactly: one matrix product instead of a store query that
        costs half as much again as embedding the question. The copy is taken on the
        first search and taken again when the index was rebuilt (by this process, or by a
        build job elsewhere: looked up every ``REFRESH_SECONDS``); a larger index is
        searched through Chroma's HNSW for its ``LARGE_K`` nearest entries.
        """
        memory = self._current_memory()
        query = unit(np.asarray(vector, dtype=np.float32))
        if memory.entries is None:
            # No filter: Chroma would read every entry's metadata to apply one. The
            # exemplars among the nearest are dropped here instead.
            held = sum(len(m) for m in memory.exemplars.values())
            scored = self._nearest(vector, max(min(self.entries, LARGE_K + held), 1))
        else:
            scored = memory.entries.scored(query)
        exemplars = {kind: float(np.max(m @ query)) for kind, m in memory.exemplars.items()}
        return scored._replace(exemplars=exemplars)

    def _current_memory(self) -> Memory:
        now = time.monotonic()
        memory = self._memory
        if memory is not None and now - memory.checked_at >= REFRESH_SECONDS:
            try:
                current = self._collection()
            except IndexError_ as error:  # the store is down: the copy answers meanwhile
                log.warning("index lookup failed, answering from memory: %s", error)
                current = None
            # Gone altogether: keep answering from the copy rather than from nothing.
            if current is not None and current.id != memory.collection_id:
                memory = None
            else:
                memory.checked_at = now
        if memory is None:
            memory = self._memory = self._load_memory()
        return memory

    def _load_memory(self) -> Memory:
        collection = self._collection()
        try:
            return Memory.of(collection, time.monotonic(), self._in_memory)
        except Exception as error:
            raise IndexError_(f"the index could not be read: {error}") from error
