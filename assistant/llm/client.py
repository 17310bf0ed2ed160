"""The chat client: one OpenAI-compatible endpoint, bounded retries, faults named by kind.

A timeout, refused connection, 429 or 5xx is retried with backoff (a Retry-After longer
than the settings allow is not waited for); anything else fails at once. Every failure
reaches the caller as ``LLMError`` with a ``Fault`` whose kind it can branch on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from assistant.answering import FaultKind
from assistant.settings import LLMSettings
from prompts.llm import Rendered

if TYPE_CHECKING:
    import httpx
    from langchain_core.messages import BaseMessage, BaseMessageChunk

__all__ = ["ChatClient", "Fault", "LLMError", "chat_messages", "classify"]

_log = logging.getLogger(__name__)
_RETRYABLE: frozenset[FaultKind] = frozenset(
    {"connection", "timeout", "rate_limited", "server_error"}
)
_MALFORMED = ValueError | KeyError | TypeError | IndexError  # parsing a reply not as promised


@dataclass(frozen=True)
class Fault:
    """Why the model's answer was not used: a kind to branch on, a detail to log."""

    kind: FaultKind
    detail: str


class LLMError(Exception):
    """The model could not give a usable reply; ``fault`` says why."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.kind}: {fault.detail}")
        self.fault = fault


def chat_messages(rendered: Rendered) -> list[BaseMessage]:
    """A rendered prompt as the model's messages: the rules as system, the data as user."""
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(content=rendered.system), HumanMessage(content=rendered.user)]


def classify(error: BaseException, attempts: int = 1) -> Fault | None:
    """The fault an exception from the client stands for; None for a bug of ours."""
    import httpx
    import openai

    detail = f"{type(error).__name__}: {error}"[:300]
    kind: FaultKind
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        kind = (
            "rate_limited"
            if status == 429
            else "server_error"
            if status >= 500 or status in (408, 409)
            else "client_error"
        )
        detail = f"HTTP {status}: {error.message}"[:300]
    elif isinstance(error, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        kind = "timeout"
    elif isinstance(error, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        kind = "connection"
    elif isinstance(error, _MALFORMED | openai.APIResponseValidationError | httpx.HTTPError):
        kind = "malformed"
    else:
        return None
    return Fault(kind, f"{detail} (attempt {attempts})")


def _retry_after(error: BaseException) -> float | None:
    """Seconds a 429/503 asks to wait (Retry-After, in seconds or as a date)."""
    response: Any = getattr(error, "response", None)
    value: str | None = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class ChatClient:
    """Calls the chat model with bounded retries; ``LLMError`` when it keeps failing."""

    def __init__(self, settings: LLMSettings, *, http_client: httpx.Client | None = None) -> None:
        if not settings.enabled:
            raise ValueError("the chat client needs ASSISTANT_LLM_BASE_URL")
        try:
            import httpx
            from langchain_openai import ChatOpenAI
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(
                "the generative answerer needs 'langchain-openai': pip install '.[llm]'"
            ) from error
        self._settings = settings
        timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        self._owned = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        # Retries are ours (a long Retry-After is not waited for), so the SDK makes none.
        self._llm = ChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key if settings.api_key.get_secret_value() else SecretStr("-"),
            temperature=settings.temperature,
            max_completion_tokens=settings.max_tokens,
            # Older llama.cpp servers and Ollama read only the older name.
            extra_body={"max_tokens": settings.max_tokens},
            timeout=timeout,
            max_retries=0,
            http_client=self._http,
            use_responses_api=False,
            stream_usage=False,
        )

    def close(self) -> None:
        """Close the HTTP client, when this client created it."""
        if self._owned:
            self._http.close()

    def _pause(self, attempt: int, error: BaseException, fault: Fault) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        s = self._settings
        if fault.kind not in _RETRYABLE or attempt >= s.max_retries:
            return None
        asked = _retry_after(error)
        if asked is not None and asked > s.retry_backoff_max_s:
            return None  # the server wants longer than we keep a reader waiting
        return max(asked or 0.0, min(s.retry_backoff_s * 2.0**attempt, s.retry_backoff_max_s))

    def _attempt(self, call: Callable[[], Any]) -> Any:
        """``call()`` with bounded retries; LLMError when it keeps failing."""
        for attempt in range(self._settings.max_retries + 1):
            try:
                return call()
            except Exception as error:
                fault = classify(error, attempt + 1)
                if fault is None:
                    raise
                pause = self._pause(attempt, error, fault)
                if pause is None:
                    raise LLMError(fault) from error
                _log.info("LLM %s, retrying in %.1fs: %s", fault.kind, pause, fault.detail)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def invoke(self, messages: list[BaseMessage]) -> str:
        reply = self._attempt(lambda: self._llm.invoke(messages))
        text = str(reply.text)
        if not text.strip():
            raise LLMError(Fault("empty", "the model returned no text"))
        return text

    def open_stream(
        self, messages: list[BaseMessage]
    ) -> tuple[Iterator[BaseMessageChunk], BaseMessageChunk | None]:
        """The model's stream and its first chunk; failures before any text are retried."""

        def start() -> tuple[Iterator[BaseMessageChunk], BaseMessageChunk | None]:
            # The request goes out on the first next().
            iterator = self._llm.stream(messages)
            return iterator, next(iterator, None)

        opened: tuple[Iterator[BaseMessageChunk], BaseMessageChunk | None] = self._attempt(start)
        return opened
