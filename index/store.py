"""The Chroma index of a document: one entry per sentence and per paragraph.

The collection's metadata records what it was built from (source hash, cleaning
version, embedder identity, schema). ``ensure`` is a no-op when all of that still
matches, and otherwise rebuilds into a fresh collection that replaces the old one
only once it is complete, so a failed build never leaves a half-written index.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.document import Document
from index.embedders import Embedder

__all__ = [
    "Hit",
    "IndexError_",
    "IndexReport",
    "ParagraphIndex",
    "close_client",
    "make_client",
    "make_http_client",
    "open_client",
]

SCHEMA_VERSION = "2"
_BATCH = 64
log = logging.getLogger(__name__)


class IndexError_(RuntimeError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The index cannot be opened or built; the message says why and what to do."""


@dataclass(frozen=True)
class Hit:
    """One indexed entry that matched a query vector."""

    paragraph: int
    sentence: int  # -1 for a whole-paragraph entry
    similarity: float


@dataclass(frozen=True)
class IndexReport:
    """What ``ensure`` did."""

    built: bool
    reason: str
    seconds: float
    entries: int


def make_client(data_dir: Path) -> Any:
    """A persistent Chroma client with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(
            path=str(data_dir / "chroma"),
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as error:  # chroma raises many types for a damaged store
        # Chroma caches a system per path, also a broken one: forget it.
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        raise IndexError_(
            f"the index at {data_dir / 'chroma'} cannot be opened ({error})"
        ) from error


def make_http_client(host: str, port: int, *, ssl: bool = False, token: str | None = None) -> Any:
    """A client of a Chroma server (``chroma run``), telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        client = chromadb.HttpClient(
            host=host,
            port=port,
            ssl=ssl,
            headers=headers,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as error:  # connection refused, auth, version mismatch
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        raise IndexError_(
            f"the Chroma server at {host}:{port} cannot be reached ({error})"
        ) from error
    return client


def close_client(client: Any) -> None:
    """Close a Chroma client, including an HTTP client's connection pool.

    chromadb's ``close()`` releases the shared system but leaves the HTTP client's
    httpx pool open, so its sockets linger until garbage collection.
    """
    with contextlib.suppress(Exception):
        client.close()
    for owner in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(owner, "_server", None), "_session", None)
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()


def open_client(data_dir: Path) -> Any:
    """A persistent client; a store that cannot be opened is moved aside, not deleted.

    The caller then finds no index and builds a fresh one. The damaged files stay
    in ``chroma.damaged-<time>`` for inspection.

    Opening runs under the data directory's build lock: Chroma creates its SQLite
    schema on first open, and two processes doing that at once make one of them
    fail with "table ... already exists", which must not pass for damage.
    """
    with _build_lock(data_dir):
        return _open_or_set_aside(data_dir)


def _open_or_set_aside(data_dir: Path) -> Any:
    try:
        return make_client(data_dir)
    except IndexError_ as error:
        aside = data_dir / f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        (data_dir / "chroma").rename(aside)
        log.warning("%s; moved it to %s and building a new index", error, aside)
        try:
            return make_client(data_dir)
        except IndexError_ as again:
            raise IndexError_(
                f"{again}; check the permissions and free space of {data_dir}"
            ) from again


@contextmanager
def _build_lock(data_dir: Path | None) -> Iterator[None]:
    """One build at a time per data directory; a second one waits."""
    if data_dir is None:
        yield
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ParagraphIndex:
    """A document's sentences and paragraphs embedded in a Chroma collection."""

    def __init__(
        self,
        client: Any,
        collection: str,
        embedder: Embedder,
        *,
        lock_dir: Path | None = None,
    ) -> None:
        self._client = client
        self._name = collection
        self._embedder = embedder
        self._lock_dir = lock_dir
        self._store: Any = None

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def _expected(self, document: Document) -> dict[str, str | int]:
        return {
            "source_sha256": document.source_sha256,
            "cleaning_version": document.cleaning_version,
            "embedder": self._embedder.identity,
            "schema": SCHEMA_VERSION,
            "entries": sum(len(p.sentences) + 1 for p in document.paragraphs),
            "hnsw:space": "cosine",
        }

    def _collection(self) -> Any | None:
        try:
            return self._client.get_collection(self._name, embedding_function=None)
        except Exception as error:
            if "does not exist" in str(error) or "not found" in str(error).lower():
                return None
            raise IndexError_(
                f"the index collection '{self._name}' is unreadable: {error}"
            ) from error

    def status(self, document: Document) -> str:
        """'current', or the reason the index must be (re)built."""
        collection = self._collection()
        if collection is None:
            return "no index yet"
        metadata = collection.metadata or {}
        for key, value in self._expected(document).items():
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
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Build the index unless it is current; ``rebuild`` forces a build."""
        started = time.perf_counter()
        reason = "rebuild requested" if rebuild else self.status(document)
        if reason == "current":
            # The vector store is opened on the first search, not here: a no-op
            # 'assistant index' should not pay for importing it.
            return IndexReport(False, reason, time.perf_counter() - started, self.count())
        with _build_lock(self._lock_dir):
            # Another process may have built it while we waited for the lock.
            if not rebuild and self.status(document) == "current":
                return IndexReport(
                    False, "built by another process", time.perf_counter() - started, self.count()
                )
            log.info("building index '%s': %s", self._name, reason)
            self._build(document, progress)
        return IndexReport(True, reason, time.perf_counter() - started, self.count())

    def _build(self, document: Document, progress: Callable[[int, int], None] | None) -> None:
        texts: list[str] = []
        ids: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for paragraph in document.paragraphs:
            ids.append(f"p{paragraph.number}")
            texts.append(paragraph.text)
            metadatas.append({"paragraph": paragraph.number, "sentence": -1})
            for sentence in paragraph.sentences:
                ids.append(f"p{paragraph.number}-s{sentence.index}")
                texts.append(sentence.text)
                metadatas.append({"paragraph": paragraph.number, "sentence": sentence.index})
        staging_name = f"{self._name}-staging"
        self._drop(staging_name)
        staging = self._client.create_collection(
            staging_name, metadata=self._expected(document), embedding_function=None
        )
        for start in range(0, len(texts), _BATCH):
            batch = slice(start, start + _BATCH)
            vectors = self._embedder.embed_documents(texts[batch])
            staging.add(
                ids=ids[batch],
                embeddings=vectors,
                documents=texts[batch],
                metadatas=metadatas[batch],
            )
            if progress:
                progress(min(start + _BATCH, len(texts)), len(texts))
        # Swap only a complete collection in: the old one stays usable until here.
        self._drop(self._name)
        staging.modify(name=self._name)
        self._store = None

    def _drop(self, name: str) -> None:
        # An absent collection is the common, harmless case.
        with contextlib.suppress(Exception):
            self._client.delete_collection(name)

    def _open(self) -> Any:
        if self._store is None:
            from langchain_chroma import Chroma

            self._store = Chroma(
                client=self._client,
                collection_name=self._name,
                embedding_function=self._embedder,
                create_collection_if_not_exists=False,
            )
        return self._store

    def close(self) -> None:
        """Release the client's connections and files (idempotent)."""
        self._store = None
        close_client(self._client)

    def count(self) -> int:
        collection = self._collection()
        return 0 if collection is None else int(collection.count())

    def search(self, vector: list[float], k: int) -> list[Hit]:
        """The ``k`` entries nearest to ``vector``, by cosine similarity."""
        store = self._open()
        try:
            results = store.similarity_search_by_vector_with_relevance_scores(vector, k=k)
        except Exception as error:
            raise IndexError_(f"the index could not be searched: {error}") from error
        return [
            Hit(
                paragraph=int(doc.metadata["paragraph"]),
                sentence=int(doc.metadata["sentence"]),
                similarity=1.0 - float(distance),
            )
            for doc, distance in results
        ]
