"""What every OpenAI-compatible server section shares: the key, the timeouts, the retries."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["ServerEndpoint"]


class ServerEndpoint(BaseModel):
    """A server reached over HTTP: a section adds its ``base_url`` and ``model``."""

    model_config = ConfigDict(frozen=True)
    env: ClassVar[str] = "ASSISTANT"  # the section's variables, named in messages

    base_url: str
    api_key: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token for the server; empty for local servers. Never logged.",
    )
    timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for the server between two reads (read/write/pool timeout).",
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
    def _http_url(self) -> ServerEndpoint:
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"{self.env}_BASE_URL must be an http(s) URL, not {self.base_url!r}")
        return self
