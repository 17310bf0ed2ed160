"""The HTTP API: ask (whole or as server-sent events), the paragraphs, and the health check.

Handlers are thin: the service validates the question (QuestionTooLong -> 413, any other
QuestionError -> 422) and answers; these turn its results into JSON and SSE.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant import (
    AnswerResult,
    DocumentInfo,
    Paragraph,
    ParagraphVersion,
    QuestionError,
    QuestionTooLong,
    Turn,
)
from ui.web.holder import ServiceHolder, SharedService
from ui.web.logs import current_request_id, note

__all__ = ["MAX_TURNS", "AskRequest", "Service", "router"]

MAX_TURNS = 200  # the longest conversation a request may carry
_WORDS = re.compile(r"\s*\S+\s*|\s+")  # covers the text: tokens join to it
log = logging.getLogger(__name__)


class AskRequest(BaseModel):
    """A question, with the earlier turns of the conversation (oldest first)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in any language; validated by the service.")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_TURNS)
    documents: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=100,
        description="Answer from these documents only (ids, see GET /api/documents); omitted: all.",
    )


@contextlib.contextmanager
def _refused_as_http() -> Iterator[None]:
    """A question the service refuses becomes 413 (too long) or 422 (invalid), with its reason."""
    try:
        yield
    except QuestionTooLong as exc:
        raise HTTPException(413, str(exc)) from None
    except QuestionError as exc:
        raise HTTPException(422, str(exc)) from None


@contextlib.contextmanager
def _unknown_as_404() -> Iterator[None]:
    """An unknown document, paragraph or version (KeyError) becomes 404, with its reason."""
    try:
        yield
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None


def _noted(result: AnswerResult) -> AnswerResult:
    note(
        abstained=result.abstained,
        cited=result.cited_paragraphs,
        language=result.language,
    )
    return result


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(jsonable_encoder(data), ensure_ascii=False)}\n\n"


def _answer_events(
    service: SharedService,
    question: str,
    history: Sequence[Turn],
    documents: Sequence[str] | None = None,
) -> AsyncIterator[str]:
    """The answer's events; a refused question raises here, before the stream starts."""
    note(question=question)  # dropped from the access line unless log_questions is on
    with _refused_as_http():
        pieces = service.ask_stream(
            question, history, request_id=current_request_id(), documents=documents
        )
    return _events(pieces)


async def _events(pieces: Generator[str | AnswerResult, None, None]) -> AsyncIterator[str]:
    yield _sse("status", {"stage": "retrieving"})
    try:
        while (item := await run_in_threadpool(next, pieces, None)) is not None:
            if isinstance(item, AnswerResult):
                yield _sse("result", _noted(item))
            else:  # verified text as it comes, revealed word by word
                for match in _WORDS.finditer(item):
                    yield _sse("token", {"text": match.group(0)})
    except Exception as exc:  # the status line is sent already: report in-band
        log.exception("answering a streamed question failed")
        note(error=type(exc).__name__)
        yield _sse("error", {"detail": f"{type(exc).__name__}: {exc}"})
    finally:
        # The client went away: stop the model's stream and free the lock. A piece still
        # being read in a worker thread cannot be interrupted; the generator is then
        # closed when it is collected.
        with contextlib.suppress(ValueError):
            pieces.close()


_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "Server-sent events: one `status`, then `token` events (`{text}`) that concatenate "
            "to the answer, then one `result` with the full AnswerResult (or one `error`)."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The question is longer than the limit."},
    422: {"description": "The body or the question is invalid."},
    503: {"description": "The index and model are still loading."},
}


def _holder(request: Request) -> ServiceHolder:
    holder: ServiceHolder = request.app.state.holder
    return holder


def _ready(request: Request) -> SharedService:
    try:
        return _holder(request).get()
    except RuntimeError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None


Service = Annotated[SharedService, Depends(_ready)]
router = APIRouter()


@router.get("/healthz", tags=["health"], responses={503: {"description": "Not ready."}})
def healthz(request: Request) -> JSONResponse:
    """Ready once the index and the model are loaded."""
    holder = _holder(request)
    try:
        service = holder.get()
    except RuntimeError as exc:
        status = "failed" if holder.error else "loading"
        return JSONResponse({"status": status, "detail": str(exc)}, status_code=503)
    paragraphs = len(service.paragraphs())
    degraded = service.answers.degraded if service.answers is not None else None
    if degraded:  # answers go on; their links, export and feedback do not
        return JSONResponse({"status": "degraded", "paragraphs": paragraphs, "detail": degraded})
    return JSONResponse({"status": "ready", "paragraphs": paragraphs})


@router.post("/api/ask", tags=["answers"], responses=_ERRORS)
def ask(body: AskRequest, service: Service) -> AnswerResult:
    """Answer a question, with citations, or abstain."""
    note(question=body.question)  # dropped from the access line unless log_questions is on
    with _refused_as_http():
        return _noted(
            service.ask(
                body.question,
                body.history,
                request_id=current_request_id(),
                documents=body.documents,
            )
        )


@router.post(
    "/api/ask/stream",
    tags=["answers"],
    response_class=StreamingResponse,
    responses={**_STREAM_DOC, **_ERRORS},
)
def ask_stream(body: AskRequest, service: Service) -> StreamingResponse:
    """Answer a question as server-sent events."""
    return _event_stream(_answer_events(service, body.question, body.history, body.documents))


@router.get(
    "/api/ask/stream",
    tags=["answers"],
    response_class=StreamingResponse,
    responses={**_STREAM_DOC, **_ERRORS},
)
def ask_stream_get(
    service: Service, question: Annotated[str, Query(description="The question.")]
) -> StreamingResponse:
    """Answer a question as server-sent events (for the browser's EventSource)."""
    return _event_stream(_answer_events(service, question, ()))


@router.get("/api/paragraphs", tags=["document"], responses=_ERRORS)
def paragraphs(service: Service) -> list[Paragraph]:
    """Every paragraph of the cleaned document (0 is the cover note)."""
    return service.paragraphs()


@router.get(
    "/api/paragraphs/{number}",
    tags=["document"],
    responses={404: {"description": "No such paragraph."}, **_ERRORS},
)
def paragraph(
    service: Service,
    number: Annotated[int, Path(ge=0)],
    lang: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z]{2,3}$",
            description=(
                "A language version (e.g. 'en'): the paragraph as it reads there, labelled "
                "official or unofficial translation; omitted or the original's: the original."
            ),
        ),
    ] = None,
) -> Paragraph | ParagraphVersion:
    """One paragraph, with its sentences and their offsets, in the original or a version."""
    with _unknown_as_404():
        if lang is None or lang == service.languages()[0]:
            return service.paragraph(number)
        return service.paragraph_version(number, lang)


@router.get("/api/documents", tags=["document"], responses=_ERRORS)
def documents(service: Service) -> list[DocumentInfo]:
    """The documents answers come from: the configured one first, then the library's."""
    return service.documents()


@router.get(
    "/api/documents/{document}/paragraphs",
    tags=["document"],
    responses={404: {"description": "No such document."}, **_ERRORS},
)
def document_paragraphs(
    service: Service, document: Annotated[str, Path(max_length=64)]
) -> list[Paragraph]:
    """Every paragraph of one document (0 is its cover note)."""
    with _unknown_as_404():
        return service.paragraphs(document)


@router.get(
    "/api/documents/{document}/paragraphs/{number}",
    tags=["document"],
    responses={404: {"description": "No such document or paragraph."}, **_ERRORS},
)
def document_paragraph(
    service: Service,
    document: Annotated[str, Path(max_length=64)],
    number: Annotated[int, Path(ge=0)],
) -> Paragraph:
    """One paragraph of one document, with its sentences and their offsets."""
    with _unknown_as_404():
        return service.paragraph(number, document)


def _event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
