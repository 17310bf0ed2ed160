"""The index's vectors in memory: the copy a question is compared with, and the vectors a
rebuild keeps from the previous index.

Reads are paged: Chroma (SQLite) refuses one statement with more variables than its limit,
which a ``get`` of some 40,000 entries passes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.embedders import Embedder
from index.entries import PARAGRAPH

__all__ = ["IN_MEMORY", "EntryMatrix", "Hit", "KeptVectors", "Memory", "digest", "read_pages"]


@dataclass(frozen=True)
class Hit:
    """One indexed entry that matched a query vector."""

    paragraph: int
    sentence: int  # its index, or PARAGRAPH, QUESTION, INSTRUCTION, OFFTOPIC or VERSION
    similarity: float
    language: str = ""  # a VERSION entry's language
    version_sentence: int = PARAGRAPH  # a VERSION entry's sentence in its version paragraph


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


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class KeptVectors:
    """The previous build's vectors by text digest; what they lack is embedded."""

    def __init__(self, vectors: dict[bytes, Any]) -> None:
        self._vectors = vectors
        self.fresh = 0  # texts the last call embedded

    def vectors(self, texts: list[str], embedder: Embedder) -> list[list[float]]:
        digests = [digest(t) for t in texts]
        missing = list(
            dict.fromkeys(t for t, d in zip(texts, digests, strict=True) if d not in self._vectors)
        )
        for text, vector in zip(missing, embedder.embed_documents(missing), strict=True):
            self._vectors[digest(text)] = vector
        self.fresh = len(missing)
        return [[float(x) for x in self._vectors[d]] for d in digests]


@dataclass(frozen=True)
class EntryMatrix:
    """Entries held in memory: unit vectors (one a row) and what each row points at."""

    matrix: Any
    paragraphs: list[int]
    sentences: list[int]
    languages: list[str]
    version_sentences: list[int]

    @classmethod
    def of(cls, got: Any) -> EntryMatrix:
        vectors, metadatas = got["embeddings"], got["metadatas"]
        matrix = np.asarray(vectors if len(metadatas) else [[0.0]], dtype=np.float32)
        matrix = matrix[: len(metadatas)]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return cls(
            matrix=matrix / np.where(norms == 0, 1.0, norms),
            paragraphs=[int(m["paragraph"]) for m in metadatas],
            sentences=[int(m["sentence"]) for m in metadatas],
            languages=[str(m.get("lang", "")) for m in metadatas],
            version_sentences=[int(m.get("vsentence", PARAGRAPH)) for m in metadatas],
        )

    def __len__(self) -> int:
        return len(self.paragraphs)

    def hits(self, query: Any) -> list[Hit]:
        """Every entry, by cosine similarity to the unit vector ``query``, nearest first."""
        similarities = self.matrix @ query if len(self) else np.zeros(0)
        return [
            Hit(
                paragraph=self.paragraphs[i],
                sentence=self.sentences[i],
                similarity=float(similarities[i]),
                language=self.languages[i],
                version_sentence=self.version_sentences[i],
            )
            for i in np.argsort(-similarities, kind="stable")
        ]

    def by_kind(self) -> dict[int, Any]:
        """The rows' vectors grouped by their ``sentence`` (an exemplar's kind)."""
        kinds = np.asarray(self.sentences)
        return {int(k): self.matrix[kinds == k] for k in dict.fromkeys(self.sentences)}


@dataclass
class Memory:
    """What a search compares in memory, and the collection it was read from."""

    entries: EntryMatrix | None  # None: more than IN_MEMORY entries, ask the store
    exemplars: dict[int, Any]  # the exemplars' vectors by kind
    collection_id: Any
    checked_at: float  # when the collection was last looked up (time.monotonic)

    @classmethod
    def of(cls, collection: Any | None, now: float) -> Memory:
        """Read ``collection`` (None: no index, nothing in memory)."""
        if collection is None:
            return cls(None, {}, None, now)
        exemplars = EntryMatrix.of(read_pages(collection, {"paragraph": -1}))
        entries = None
        if collection.count() - len(exemplars) <= IN_MEMORY:
            entries = EntryMatrix.of(read_pages(collection, {"paragraph": {"$gte": 0}}))
        return cls(entries, exemplars.by_kind(), collection.id, now)
