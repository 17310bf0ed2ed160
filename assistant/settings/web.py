"""The ``web`` section of the settings: how the page and API are served (``ASSISTANT_WEB_*``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

__all__ = ["MIN_SECRET_LENGTH", "WebSettings"]

MIN_SECRET_LENGTH = 16  # a token or password shorter than this is refused at start

_ORIGINAL_TEXT = "https://data.consilium.europa.eu/doc/document/ST-7925-2018-INIT/nl/pdf"


class WebSettings(BaseModel):
    """How the page and the HTTP API are served, embedded and protected."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=7860, ge=0, le=65535, description="TCP port to listen on.")
    root_path: str = Field(
        default="",
        description=(
            "Public path prefix when a reverse proxy serves the app under a sub-path and "
            "strips it (e.g. '/assistant'); empty when served at the root."
        ),
    )
    auth_token: SecretStr | None = Field(
        default=None,
        description=(
            "Shared token required on every route but /healthz, at least 16 characters: "
            "'Authorization: Bearer <token>', or '?token=<token>' once in a page's link, which "
            "signs the browser in (a signed session cookie) and redirects to the page without it."
        ),
    )
    basic_user: str | None = Field(
        default=None, description="User name for HTTP basic auth (with basic_password)."
    )
    basic_password: SecretStr | None = Field(
        default=None, description="Password for HTTP basic auth (with basic_user)."
    )
    frame_ancestors: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Origins allowed to embed the page in an iframe (CSP frame-ancestors), "
            "comma-separated, e.g. 'https://intranet.example.org'; the app's own origin always may."
        ),
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Origins whose scripts may call the app (CORS, without cookies: they send the token), "
            "comma-separated; '*' for any. Any other origin's requests are refused (403)."
        ),
    )
    mcp_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Host headers the /mcp endpoint answers besides localhost, comma-separated, e.g. "
            "'assistant.intranet.example:*' behind a proxy (the MCP SDK's DNS-rebinding check)."
        ),
    )
    language: Literal["auto", "nl", "en"] = Field(
        default="auto",
        description="Language of the page's labels: 'auto' follows the browser.",
    )
    original_url: str = Field(
        default=_ORIGINAL_TEXT,
        description="Link to the original (scanned) text, shown above the document pane.",
    )
    rate_limit_per_minute: int = Field(
        default=120,
        ge=0,
        description=(
            "Requests per minute one client may send to the API or as any POST, Gradio's "
            "included (a token bucket: this many at once, then refilled evenly); every other "
            "request (the page and its assets) may come ten times as often; 0 turns limits off."
        ),
    )
    trust_proxy: bool = Field(
        default=False,
        description=(
            "Behind a reverse proxy: take the client from the first X-Forwarded-For hop (for the "
            "rate limit) and the scheme from X-Forwarded-Proto. Off: the connection's own address."
        ),
    )
    max_body_bytes: int = Field(
        default=524_288,
        ge=1024,
        description="Largest request body any route accepts, Gradio's included (413 above).",
    )
    session_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 30,
        description=(
            "How long a browser stays signed in after '?token=' (its signed session cookie); "
            "changing the token ends every session at once."
        ),
    )
    max_header_bytes: int = Field(
        default=32_768,
        ge=4096,
        description="Largest request head (request line and headers) read, in bytes (400 above).",
    )
    request_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description=(
            "Time a client has to send a request's head, and again its body; a connection "
            "that trickles them is closed (the head) or answered 408 (the body)."
        ),
    )
    chat_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description=(
            "Chat answers the page works on at once (Gradio's queue concurrency); later ones "
            "wait in line. Streaming an answer mostly waits, so this may exceed the cores."
        ),
    )
    chat_queue_size: int = Field(
        default=256,
        ge=1,
        description="Chat questions that may wait in line; beyond it the page says it is busy.",
    )
    log_json: bool = Field(
        default=False, description="Write logs as one JSON object a line instead of text."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the assistant's own logs (access lines are INFO)."
    )
    log_questions: bool = Field(
        default=False,
        description=(
            "Include the question text in the access log lines; off by default, since questions "
            "may carry personal data. Tokens and credentials are never logged."
        ),
    )

    @field_validator("frame_ancestors", "cors_origins", "mcp_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("root_path")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError("root_path must start with '/' (e.g. '/assistant')")
        return value

    @field_validator("auth_token", "basic_password")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"is shorter than {MIN_SECRET_LENGTH} characters: a short secret is guessed; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return value

    @model_validator(mode="after")
    def _basic_pair(self) -> WebSettings:
        if (self.basic_user is None) != (self.basic_password is None):
            raise ValueError("set both basic_user and basic_password, or neither")
        return self

    @property
    def protected(self) -> bool:
        """Whether any access control is on."""
        return self.auth_token is not None or self.basic_user is not None
