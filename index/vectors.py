"""The index's vectors in memory: the copy a question is compared with, and the vectors a
rebuild keeps from the previous index.

Reads are paged: Chroma (SQLite) refuses one statement with more variables than its limit,
which a ``get`` of some 40,000 entries passes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from index.embedders import Embedder
from index.entries import PARAGRAPH

log = logging.getLogger(__name__)

__all__ = [
    "IN_MEMORY",
    "EntryMatrix",
    "Hit",
    "KeptVectors",
    "Memory",
    "Scored",
    "digest",
    "max_by",
    "read_pages",
    "unit",
]


class Hit(NamedTuple):
    """One indexed entry that matched a query vector (a tuple: a search makes thousands)."""

    paragraph: int
    sentence: int  # its index, or PARAGRAPH, QUESTION, INSTRUCTION, OFFTOPIC or VERSION
    similarity: float
    language: str = ""  # a VERSION entry's language
    version_sentence: int = PARAGRAPH  # a VERSION entry's sentence in its version paragraph

    @classmethod
    def of(cls, metadata: Any, distance: float) -> Hit:
        """The hit a store returned: the entry's metadata and its cosine distance."""
        return cls(
            paragraph=int(metadata["paragraph"]),
            sentence=int(metadata["sentence"]),
            similarity=1.0 - float(distance),
            language=str(metadata.get("lang", "")),
            version_sentence=int(metadata.get("vsentence", PARAGRAPH)),
        )


IN_MEMORY = 50_000  # entries searched exactly in memory (about 75 MiB of vectors)
_VECTORS = ["embeddings", "metadatas"]


_PAGE = 5_000  # rows a read asks for: SQLite limits the variables of one statement


def read_pages(
    collection: Any, where: dict[str, Any], include: list[str] = _VECTORS
) -> dict[str, list[Any]]:
    """What ``include`` names of the entries matching ``where``, read page by page."""
    got: dict[str, list[Any]] = {key: [] for key in include}
    while True:
        page = collection.get(
            where=where, include=include, limit=_PAGE, offset=len(got[include[0]])
        )
        for key in include:
            got[key].extend(page[key])
        if len(page[include[0]]) < _PAGE:
            return got


def unit(array: Any) -> Any:
    """``array`` scaled to unit length: a vector, or each row of a matrix (zeros stay)."""
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return array / np.where(norms == 0, 1.0, norms)


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class KeptVectors:
    """The previous build's vectors by text digest; what they lack is embedded."""

    def __init__(self, vectors: dict[bytes, Any]) -> None:
        self._vectors = vectors
        self.fresh = 0  # texts the last call embedded

    @classmethod
    def of(cls, collection: Any | None, embedder: Embedder) -> KeptVectors:
        """The vectors of ``collection`` by text, when ``embedder`` built it (none else): a
        text that has not changed is not embedded again (an erratum re-embeds one paragraph).
        """
        metadata = (collection.metadata or {}) if collection is not None else {}
        if collection is None or metadata.get("embedder") != embedder.identity:
            return cls({})
        try:
            got = read_pages(collection, {"paragraph": {"$gte": -1}}, ["embeddings", "documents"])
        except Exception as error:  # an unreadable old index is rebuilt from scratch
            log.warning("the previous index's vectors could not be read: %s", error)
            return cls({})
        texts, vectors = got["documents"], got["embeddings"]
        return cls({digest(t): v for t, v in zip(texts, vectors, strict=True)})

    def vectors(self, texts: list[str], embedder: Embedder) -> list[list[float]]:
        digests = [digest(t) for t in texts]
        missing = list(
            dict.fromkeys(t for t, d in zip(texts, digests, strict=True) if d not in self._vectors)
        )
        for text, vector in zip(missing, embedder.embed_documents(missing), strict=True):
            self._vectors[digest(text)] = vector
        self.fresh = len(missing)
        return [[float(x) for x in self._vectors[d]] for d in digests]


class Scored(NamedTuple):
    """A search over every entry, as arrays (one value a row): at tens of thousands of
    entries a question is answered by array operations, not a loop over hits."""

    paragraphs: Any
    sentences: Any
    similarities: Any
    languages: Any
    version_sentences: Any
    exemplars: dict[int, float] = {}  # the nearest exemplar's similarity, by kind

    @classmethod
    def of_hits(cls, hits: list[Hit]) -> Scored:
        columns = list(zip(*hits, strict=True)) if hits else [()] * 5
        paragraphs, sentences, similarities, languages, version_sentences = columns
        return cls(
            np.asarray(paragraphs, dtype=np.int64),
            np.asarray(sentences, dtype=np.int64),
            np.asarray(similarities, dtype=np.float64),
            np.asarray(languages, dtype=object),
            np.asarray(version_sentences, dtype=np.int64),
        )

    def nearest(self, k: int) -> Scored:
        """The ``k`` entries nearest to the question (all, when there are no more)."""
        if len(self.similarities) <= k:
            return self
        rows = np.argpartition(-self.similarities, k)[:k]
        return Scored(
            self.paragraphs[rows],
            self.sentences[rows],
            self.similarities[rows],
            self.languages[rows],
            self.version_sentences[rows],
            self.exemplars,
        )

    def hits(self) -> list[Hit]:
        """The entries as hits, nearest first, then one hit a kind of exemplar."""
        order = np.argsort(-self.similarities, kind="stable")
        entries = map(
            Hit,
            self.paragraphs[order].tolist(),
            self.sentences[order].tolist(),
            self.similarities[order].tolist(),
            self.languages[order].tolist(),
            self.version_sentences[order].tolist(),
        )
        kinds = (Hit(-1, kind, best) for kind, best in self.exemplars.items())
        return [*entries, *kinds]


def max_by(keys: Any, values: Any) -> dict[int, float]:
    """The largest of ``values`` for each of ``keys`` (arrays), largest first."""
    if not len(keys):
        return {}
    unique, inverse = np.unique(keys, return_inverse=True)
    best = np.full(len(unique), -np.inf)
    np.maximum.at(best, inverse, values)
    order = np.argsort(-best, kind="stable")
    return dict(zip(unique[order].tolist(), best[order].tolist(), strict=True))


@dataclass(frozen=True)
class EntryMatrix:
    """Entries held in memory: unit vectors (one a row) and what each row points at."""

    matrix: Any  # float32, one unit vector a row
    paragraphs: Any  # arrays, one value a row: a search reorders them at C speed
    sentences: Any
    languages: Any
    version_sentences: Any

    @classmethod
    def of(cls, got: Any) -> EntryMatrix:
        vectors, metadatas = got["embeddings"], got["metadatas"]
        matrix = np.asarray(vectors if len(metadatas) else [[0.0]], dtype=np.float32)
        matrix = matrix[: len(metadatas)]
        return cls(
            matrix=unit(matrix),
            paragraphs=np.asarray([int(m["paragraph"]) for m in metadatas], dtype=np.int64),
            sentences=np.asarray([int(m["sentence"]) for m in metadatas], dtype=np.int64),
            languages=np.asarray([str(m.get("lang", "")) for m in metadatas], dtype=object),
            version_sentences=np.asarray(
                [int(m.get("vsentence", PARAGRAPH)) for m in metadatas], dtype=np.int64
            ),
        )

    def __len__(self) -> int:
        return len(self.paragraphs)

    def scored(self, query: Any) -> Scored:
        """Every entry's cosine similarity to the unit vector ``query`` (row order)."""
        similarities = self.matrix @ query if len(self) else np.zeros(0, dtype=np.float32)
        return Scored(
            self.paragraphs, self.sentences, similarities, self.languages, self.version_sentences
        )

    def by_kind(self) -> dict[int, Any]:
        """The rows' vectors grouped by their ``sentence`` (an exemplar's kind)."""
        return {int(k): self.matrix[self.sentences == k] for k in np.unique(self.sentences)}


@dataclass
class Memory:
    """What a search compares in memory, and the collection it was read from."""

    entries: EntryMatrix | None  # None: more than IN_MEMORY entries, ask the store
    exemplars: dict[int, Any]  # the exemplars' vectors by kind
    collection_id: Any
    checked_at: float  # when the collection was last looked up (time.monotonic)

    @classmethod
    def of(cls, collection: Any | None, now: float, limit: int | None = None) -> Memory:
        """Read ``collection`` (None: no index, nothing in memory); its entries only when
        there are at most ``limit`` of them (default ``IN_MEMORY``; 0: never)."""
        if collection is None:
            return cls(None, {}, None, now)
        exemplars = EntryMatrix.of(read_pages(collection, {"paragraph": -1}))
        entries = None
        if collection.count() - len(exemplars) <= (IN_MEMORY if limit is None else limit):
            entries = EntryMatrix.of(read_pages(collection, {"paragraph": {"$gte": 0}}))
        return cls(entries, exemplars.by_kind(), collection.id, now)
