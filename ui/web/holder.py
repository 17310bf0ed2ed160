"""The assistant service as the web app holds it: built once in the background, shared.

``ServiceHolder`` builds it off the event loop and answers a warm-up question before
it reports ready; ``SharedService`` lets concurrent requests answer side by side and
lets shutdown wait for the answers in progress.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence

from assistant import (
    AnswerResult,
    AnswerStore,
    AssistantService,
    DocumentInfo,
    Paragraph,
    ParagraphVersion,
    StoredAnswer,
    StoreError,
    Turn,
)

__all__ = ["ServiceHolder", "SharedService"]

_WARM_UP = "Wat veroordeelt de EU met klem?"
_CLOSE_WAIT = 10.0  # seconds shutdown waits for answers in progress before closing
log = logging.getLogger(__name__)


class SharedService:
    """The assistant service as concurrent requests share it.

    Answers run side by side: the parts that must not be shared (the embedding
    engine, the stemmers) hold their own locks, so a streamed answer, which mostly
    waits on the page or on an LLM server, keeps no one else waiting. ``close``
    waits for the answers in progress.
    """

    def __init__(self, service: AssistantService) -> None:
        self._service = service
        self._idle = threading.Condition()
        self._answering = 0

    @contextlib.contextmanager
    def _answer(self) -> Iterator[None]:
        with self._idle:
            self._answering += 1
        try:
            yield
        finally:
            with self._idle:
                self._answering -= 1
                self._idle.notify_all()

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        request_id: str = "",
        keep: bool = True,
        documents: Sequence[str] | None = None,
    ) -> AnswerResult:
        with self._answer():
            return self._service.ask(
                question, history, request_id=request_id, keep=keep, documents=documents
            )

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        request_id: str = "",
        documents: Sequence[str] | None = None,
    ) -> Generator[str | AnswerResult, None, None]:
        """``AssistantService.ask_stream``, counted in progress until read to the end or closed.

        The question is validated at once (QuestionError), as the service does.
        """
        return self._counted(
            self._service.ask_stream(question, history, request_id=request_id, documents=documents)
        )

    def _counted(
        self, pieces: Generator[str | AnswerResult, None, None]
    ) -> Generator[str | AnswerResult, None, None]:
        with self._answer():
            try:
                yield from pieces
            finally:
                pieces.close()

    def close(self) -> None:
        """Release the index's connections once the answers in progress are sent."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._answering == 0, timeout=_CLOSE_WAIT):
                log.warning("closing with %d answers still in progress", self._answering)
        self._service.close()

    def documents(self) -> list[DocumentInfo]:
        return self._service.documents()

    def paragraphs(self, document: str | None = None) -> list[Paragraph]:
        return self._service.paragraphs(document)

    def paragraph(self, number: int, document: str | None = None) -> Paragraph:
        return self._service.paragraph(number, document)

    def languages(self) -> list[str]:
        return self._service.languages()

    def stored(self, answer_id: str) -> StoredAnswer | None:
        """A kept answer, or None (unknown, or the store is unavailable: logged there)."""
        try:
            return self._service.stored(answer_id)
        except StoreError:
            return None

    @property
    def document_title(self) -> str:
        return self._service.settings.document_title

    @property
    def answers(self) -> AnswerStore | None:
        """The answer store (None when answers are not kept)."""
        return self._service.answers

    def paragraph_version(self, number: int, language: str) -> ParagraphVersion:
        return self._service.paragraph_version(number, language)


class ServiceHolder:
    """Builds the assistant once in a background thread and reports readiness."""

    def __init__(self, build: Callable[[], AssistantService]) -> None:
        self._build = build
        self._ready = threading.Event()
        self._service: SharedService | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="assistant-build", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            started = time.perf_counter()
            service = SharedService(self._build())
            built = time.perf_counter()
            # The first answer of a process loads the query model and the language detector
            # (6-12 s measured): asked here, so /healthz says ready only once answers are quick.
            service.ask(_WARM_UP, keep=False)
            if service.answers is not None:  # a damaged store is reported from the start
                service.answers.check()
            self._service = service
            log.info(
                "assistant ready: built in %.1f s, warm-up answer in %.1f s",
                built - started,
                time.perf_counter() - built,
            )
        except Exception as exc:  # reported by /healthz, never raised into the server
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("assistant failed to start: %s", self.error)
        finally:
            self._ready.set()

    def close(self) -> None:
        """Close the service when it was built (on shutdown)."""
        if self._service is not None:
            self._service.close()
            log.info("assistant closed")

    def get(self, wait: float = 0.0) -> SharedService:
        """The service; RuntimeError when it is not ready within ``wait`` seconds."""
        self._ready.wait(wait)
        if self._service is None:
            raise RuntimeError(self.error or "the assistant is still loading its index and model")
        return self._service
