"""The generative answerer: an OpenAI-compatible LLM writes, the code checks every citation.

Same port as ``ExtractiveAnswerer`` (``compose``), plus ``stream`` and ``rewrite``. On any
failure (refused connection, timeout, 4xx/5xx, 429, empty or malformed output, no citation
surviving verification) it returns the extractive answer with a notice in the question's
language and a structured reason. When the abstention policy says the document does not
answer, the model is not called.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, fields
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr

from assistant.answerer import Composed, ExtractiveAnswerer
from assistant.citations import AnswerChecker, CitationVerifier, Removal
from assistant.llm_prompts import (
    AnswerPrompt,
    Rendered,
    RewritePrompt,
    load_answer_prompt,
    load_rewrite_prompt,
)
from assistant.llm_settings import LLMSettings
from assistant.prompts import MessageBook
from assistant.result import Citation, CitedSentence, Turn
from assistant.retrieval import Ranking
from index.document import Document

if TYPE_CHECKING:
    import httpx
    from langchain_core.messages import BaseMessage

__all__ = ["AnswerStream", "Fault", "FaultKind", "GenerativeAnswerer", "Generated", "LLMError"]

_log = logging.getLogger(__name__)

FaultKind = Literal[
    "connection", "timeout", "rate_limited", "server_error", "client_error",
    "empty", "malformed", "unverified",
]  # fmt: skip
_RETRYABLE: frozenset[FaultKind] = frozenset(
    {"connection", "timeout", "rate_limited", "server_error"}
)
_QUERY_LABEL = re.compile(r"^(?:search )?(?:query|zoekvraag|suchanfrage|requête)\s*:\s*", re.I)
_MALFORMED = ValueError | KeyError | TypeError | IndexError  # parsing a reply not as promised
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TURN_CHARS = 600
_QUERY_CHARS = 500


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


@dataclass(frozen=True)
class Generated(Composed):
    """A composed answer with what the generative path adds."""

    generated: bool = False  # the shown text was written by the model (and verified)
    notice: str | None = None  # shown above an offline answer, or below a cut-off one
    fallback: FaultKind | None = None
    fallback_detail: str | None = None
    removed: tuple[Removal, ...] = ()
    given: tuple[int, ...] = ()  # paragraphs given to the model


def _classify(error: BaseException, attempts: int = 1) -> Fault | None:
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


def _unchanged(composed: Composed) -> Generated:
    return Generated(**{f.name: getattr(composed, f.name) for f in fields(Composed)})


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


class AnswerStream(Iterator[str]):
    """Verified text as it is produced; ``result`` holds the whole answer once exhausted."""

    def __init__(self, run: Callable[[AnswerStream], Generator[str, None, None]]) -> None:
        self._result: Generated | None = None
        self._chunks = run(self)

    def __next__(self) -> str:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early (the client went away); closes the connection to the model."""
        self._chunks.close()

    @property
    def result(self) -> Generated:
        if self._result is None:
            raise RuntimeError("the stream has not been read to the end")
        return self._result


class GenerativeAnswerer:
    """Answers with an LLM over the retrieved paragraphs; falls back to quoting them."""

    def __init__(
        self,
        settings: LLMSettings,
        document: Document,
        fallback: ExtractiveAnswerer,
        verifier: CitationVerifier,
        messages: MessageBook,
        *,
        answer_prompt: AnswerPrompt | None = None,
        rewrite_prompt: RewritePrompt | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        if not settings.enabled:
            raise ValueError("the generative answerer needs ASSISTANT_LLM_BASE_URL")
        try:
            import httpx
            from langchain_openai import ChatOpenAI
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(
                "the generative answerer needs 'langchain-openai': pip install '.[llm]'"
            ) from error
        self._settings = settings
        self._history_turns = settings.rewrite_history_turns
        self._document = document
        self._fallback = fallback
        self._verifier = verifier
        self._messages = messages
        self._answer_prompt = answer_prompt or load_answer_prompt()
        self._rewrite_prompt = rewrite_prompt or load_rewrite_prompt()
        missing = set(messages.languages) - set(self._answer_prompt.languages)
        if missing:
            raise ValueError(f"answer.toml has no texts for the languages {sorted(missing)}")
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
        """Close the HTTP client, when this answerer created it."""
        if self._owned:
            self._http.close()

    # -- the port ----------------------------------------------------------------
    def compose(self, question: str, language: str, ranking: Ranking) -> Generated:
        """Generate, verify and return the answer; the offline answer on any failure."""
        offline = self._fallback.compose(question, language, ranking)
        if offline.abstained:
            return _unchanged(offline)
        given, checker, messages = self._prepare(question, language, ranking)
        try:
            raw = self._invoke(messages)
        except LLMError as error:
            return self._finish(checker, offline, language, ranking, given, error.fault)
        checker.feed(raw)
        checker.finish()
        return self._finish(checker, offline, language, ranking, given, None)

    def stream(self, question: str, language: str, ranking: Ranking) -> AnswerStream:
        """Like ``compose``, but yields each sentence once its markers are verified."""
        return AnswerStream(lambda holder: self._stream(holder, question, language, ranking))

    def rewrite(self, question: str, history: Sequence[Turn]) -> str | None:
        """One standalone search query for a follow-up; None without history or on failure."""
        turns = [(t.role, t.content[:_TURN_CHARS]) for t in history][-self._history_turns :]
        if not any(role == "user" for role, _ in turns):
            return None
        rendered = self._rewrite_prompt.render(question, turns)
        try:
            raw = self._invoke(self._to_messages(rendered))
        except LLMError as error:
            _log.warning("follow-up rewrite failed (%s): %s", error.fault.kind, error.fault.detail)
            return None
        line = next((x.strip() for x in raw.splitlines() if x.strip()), "")
        query = _CONTROL.sub(" ", _QUERY_LABEL.sub("", line)).strip(" \"'“”«»`")
        return query if 0 < len(query) <= _QUERY_CHARS else None

    # -- calling the model ---------------------------------------------------------
    def _prepare(
        self, question: str, language: str, ranking: Ranking
    ) -> tuple[tuple[int, ...], AnswerChecker, list[BaseMessage]]:
        """The paragraphs given to the model, a checker for its reply, and the messages."""
        given = tuple(ranking.order[: self._settings.max_paragraphs])
        abstain = self._messages.for_language(language).abstain
        paragraphs = [(n, self._document.paragraph(n).text) for n in given]
        rendered = self._answer_prompt.render(question, language, paragraphs, abstain)
        checker = AnswerChecker(self._verifier, language, given, abstain)
        return given, checker, self._to_messages(rendered)

    @staticmethod
    def _to_messages(rendered: Rendered) -> list[BaseMessage]:
        from langchain_core.messages import HumanMessage, SystemMessage

        return [SystemMessage(content=rendered.system), HumanMessage(content=rendered.user)]

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
                fault = _classify(error, attempt + 1)
                if fault is None:
                    raise
                pause = self._pause(attempt, error, fault)
                if pause is None:
                    raise LLMError(fault) from error
                _log.info("LLM %s, retrying in %.1fs: %s", fault.kind, pause, fault.detail)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _invoke(self, messages: list[BaseMessage]) -> str:
        reply = self._attempt(lambda: self._llm.invoke(messages))
        text = str(reply.text)
        if not text.strip():
            raise LLMError(Fault("empty", "the model returned no text"))
        return text

    def _stream(
        self, holder: AnswerStream, question: str, language: str, ranking: Ranking
    ) -> Generator[str, None, None]:
        offline = self._fallback.compose(question, language, ranking)
        if offline.abstained:
            holder._result = _unchanged(offline)
            yield offline.answer
            return
        given, checker, messages = self._prepare(question, language, ranking)
        deadline = time.monotonic() + self._settings.stream_deadline_s
        fault: Fault | None = None
        chunks: Any = None

        def start() -> tuple[Any, Any]:
            # The request goes out on the first next(): errors before any text retry.
            iterator = self._llm.stream(messages)
            return iterator, next(iterator, None)

        try:
            chunks, chunk = self._attempt(start)
            received = ""
            while chunk is not None:
                if time.monotonic() > deadline:
                    raise LLMError(Fault("timeout", "the stream took longer than its deadline"))
                received += chunk.text
                shown = checker.feed(chunk.text)
                if shown:
                    yield shown
                chunk = next(chunks, None)
            if not received.strip():
                raise LLMError(Fault("empty", "the stream carried no text"))
            shown = checker.finish()
            if shown:
                yield shown
        except LLMError as error:
            fault = error.fault
        except Exception as error:
            fault = _classify(error)
            if fault is None:
                raise
        finally:
            if chunks is not None:
                chunks.close()
        result = self._finish(checker, offline, language, ranking, given, fault)
        holder._result = result
        rest = result.answer[len(checker.text) :]
        if rest:
            yield rest

    # -- the result ----------------------------------------------------------------
    def _finish(
        self,
        checker: AnswerChecker,
        offline: Composed,
        language: str,
        ranking: Ranking,
        given: tuple[int, ...],
        fault: Fault | None,
    ) -> Generated:
        texts = self._answer_prompt.texts(language)
        removed = tuple(checker.removed)
        if checker.supported:
            citations = [self._citation(n, s) for n, s in checker.evidence.items()]
            notice = texts.interrupted if fault else None
            answer = f"{checker.text}\n{notice}" if notice else checker.text
            return Generated(
                answer, citations, False, [], None, generated=True, notice=notice,
                fallback=fault.kind if fault else None,
                fallback_detail=fault.detail if fault else None, removed=removed, given=given,
            )  # fmt: skip
        if checker.declined and fault is None:
            messages = self._messages.for_language(language)
            nearest = ranking.order[:2]
            listed = ", ".join(f"§{n}" for n in nearest)
            answer = f"{messages.abstain} {messages.suggest.format(paragraphs=listed)}"
            reason = "the model found no answer in the paragraphs it was given"
            return Generated(
                answer, [], True, nearest, reason, generated=True, removed=removed, given=given
            )
        if fault is None:
            fault = Fault(
                "unverified", f"no citation survived verification ({len(removed)} removed)"
            )
        notice = texts.unverified if fault.kind == "unverified" else texts.unavailable
        _log.warning("offline answer shown (%s): %s", fault.kind, fault.detail)
        return Generated(
            f"{notice}\n{offline.answer}", offline.citations, offline.abstained,
            offline.suggestions, offline.reason, notice=notice, fallback=fault.kind,
            fallback_detail=fault.detail, removed=removed, given=given,
        )  # fmt: skip

    def _citation(self, number: int, sentences: list[int]) -> Citation:
        paragraph = self._document.paragraph(number)
        picked = [s for s in paragraph.sentences if s.index in sentences]
        return Citation(
            paragraph=number,
            text=paragraph.text,
            sentences=[
                CitedSentence(index=s.index, text=s.text, start=s.start, end=s.end) for s in picked
            ],
        )
