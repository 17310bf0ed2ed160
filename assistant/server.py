"""The ASGI app: the HTTP API, the Gradio page mounted at ``/``, and ``serve``.

The assistant is built in a background thread when the app starts, so the port
answers at once: ``/healthz`` and the API say 503 until the index and the model
are loaded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount

from assistant.logs import configure_logging, note
from assistant.result import AnswerResult, Turn
from assistant.service import AssistantService, QuestionError, build_assistant
from assistant.serving import ServiceHolder, SharedService
from assistant.settings import Settings
from assistant.web_middleware import (
    AccessControl,
    BodyLimit,
    LocalFilesOnly,
    RateLimit,
    RelativePageLinks,
    RequestLog,
    SecurityHeaders,
)
from assistant.web_settings import WebSettings
from index.document import Paragraph
from index.store import IndexError_

__all__ = [
    "AskRequest",
    "create_app",
    "serve",
]

_WORDS = re.compile(r"\s*\S+\s*|\s+")  # covers the text: tokens join to it
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON may escape them ("\\ud800"); UTF-8 cannot
log = logging.getLogger(__name__)


class AskRequest(BaseModel):
    """A question, with the earlier turns of the conversation (oldest first)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in Dutch or English (or German, French).")
    history: list[Turn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _encodable(self) -> AskRequest:
        # A lone surrogate passes JSON decoding but no UTF-8 encoder (the language detector,
        # the response): refused here as invalid text rather than failing as a 500 later.
        texts = [self.question, *(turn.content for turn in self.history)]
        if any(_SURROGATE.search(text) for text in texts):
            raise ValueError("the text contains a lone surrogate (\\ud800-\\udfff), not Unicode")
        return self


def _checked_question(service: SharedService, question: str) -> str:
    note(question=question)  # dropped from the access line unless log_questions is on
    if len(question.strip()) > service.max_question_chars:
        raise HTTPException(
            413,
            f"the question is {len(question.strip())} characters long; "
            f"the limit is {service.max_question_chars}",
        )
    try:
        return service.validate(question)
    except QuestionError as exc:
        raise HTTPException(422, str(exc)) from None


def _noted(result: AnswerResult) -> AnswerResult:
    note(
        abstained=result.abstained,
        cited=result.cited_paragraphs,
        language=result.language,
    )
    return result


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(jsonable_encoder(data), ensure_ascii=False)}\n\n"


async def _answer_events(
    service: SharedService, question: str, history: Sequence[Turn]
) -> AsyncIterator[str]:
    yield _sse("status", {"stage": "retrieving"})
    pieces = service.ask_stream(question, history)
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
    return JSONResponse({"status": "ready", "paragraphs": len(service.paragraphs())})


@router.post("/api/ask", tags=["answers"], responses=_ERRORS)
def ask(body: AskRequest, service: Service) -> AnswerResult:
    """Answer a question, with citations, or abstain."""
    return _noted(service.ask(_checked_question(service, body.question), body.history))


@router.post(
    "/api/ask/stream",
    tags=["answers"],
    response_class=StreamingResponse,
    responses={**_STREAM_DOC, **_ERRORS},
)
def ask_stream(body: AskRequest, service: Service) -> StreamingResponse:
    """Answer a question as server-sent events."""
    question = _checked_question(service, body.question)
    return _event_stream(_answer_events(service, question, body.history))


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
    return _event_stream(_answer_events(service, _checked_question(service, question), ()))


@router.get("/api/paragraphs", tags=["document"], responses=_ERRORS)
def paragraphs(service: Service) -> list[Paragraph]:
    """Every paragraph of the cleaned document (0 is the cover note)."""
    return service.paragraphs()


@router.get(
    "/api/paragraphs/{number}",
    tags=["document"],
    responses={404: {"description": "No such paragraph."}, **_ERRORS},
)
def paragraph(service: Service, number: Annotated[int, Path(ge=0)]) -> Paragraph:
    """One paragraph, with its sentences and their offsets."""
    try:
        return service.paragraph(number)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None


def _event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), exclude={"input", "url", "ctx"})
    where = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors
    )
    return JSONResponse({"detail": f"invalid request: {where}", "errors": errors}, 422)


_UNREADABLE = {  # why FastAPI's "There was an error parsing the body" happened
    UnicodeDecodeError: "it is not UTF-8",
    RecursionError: "it is nested too deeply",
    ValueError: "it holds a number too long to read",
}


async def _index_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A Chroma server that went away: fail fast, say so, and let the client retry; the
    # same process recovers when the server is back.
    log.warning("index unavailable: %s", exc)
    return JSONResponse(
        {"detail": f"the index is unavailable, try again shortly ({exc})"},
        503,
        headers={"Retry-After": "5"},
    )


async def _http_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        why = next((w for t, w in _UNREADABLE.items() if isinstance(exc.__cause__, t)), None)
        detail = "the request body cannot be read as JSON" + (f": {why}" if why else "")
        return JSONResponse({"detail": detail}, 400)
    return await http_exception_handler(request, exc)


def create_app(
    settings: Settings,
    web: WebSettings | None = None,
    *,
    build: Callable[[], AssistantService] | None = None,
) -> FastAPI:
    """The whole app: API, Gradio page, access control and embedding headers."""
    import gradio as gr

    from ui.page import ChatPage

    web = web or WebSettings()
    holder = ServiceHolder(build or (lambda: build_assistant(settings)[0]))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.start()
        try:
            yield
        finally:
            await run_in_threadpool(holder.close)

    app = FastAPI(
        title="Policy assistant",
        summary="Cited answers over the EU Council conclusions on malicious cyber activities.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the schema is at /api/openapi.json
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.holder = holder
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IndexError_, _index_unavailable)
    app.include_router(router)
    page = ChatPage(lambda: holder.get(wait=120.0), web)
    gr.mount_gradio_app(app, page.build(), path="/", **page.mount_options())
    app.state.end_streams = _stream_ender(app)
    # Added after the mount, so they wrap the API and every Gradio route alike; the last
    # added is the outermost: CORS answers preflights before the rate limit counts them and
    # access control asks for credentials (browsers send none with a preflight); the rate
    # limit counts refused credentials too (it slows guessing); every response, refusals
    # included, gets its request id and access line.
    app.add_middleware(BodyLimit, max_bytes=web.max_body_bytes)
    if web.protected:
        app.add_middleware(AccessControl, web=web)
    if web.rate_limit_per_minute:
        app.add_middleware(
            RateLimit, per_minute=web.rate_limit_per_minute, trust_proxy=web.trust_proxy
        )
    if web.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=web.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            allow_credentials="*" not in web.cors_origins,
        )
    app.add_middleware(LocalFilesOnly)
    app.add_middleware(RelativePageLinks)
    app.add_middleware(SecurityHeaders, frame_ancestors=web.frame_ancestors)
    app.add_middleware(RequestLog, log_questions=web.log_questions)
    return app


def _stream_ender(app: FastAPI) -> Callable[[], None]:
    """What ends the page's open session streams, so a shutdown need not wait on them.

    Every open tab holds a Gradio heartbeat stream that lasts until Gradio's
    ``stop_event`` is set, which ``Blocks.close`` does for a launched app but nothing
    does for a mounted one.
    """
    from gradio.routes import App as GradioApp

    mounted = [
        route.app
        for route in app.routes
        if isinstance(route, Mount) and isinstance(route.app, GradioApp)
    ]

    def end() -> None:
        for gradio_app in mounted:
            gradio_app.stop_event.set()

    return end


class _Server(uvicorn.Server):
    """uvicorn, ending the page's open streams as soon as it is asked to stop.

    Otherwise each open tab holds the graceful shutdown to its timeout and is then
    cancelled, with a traceback in the log.
    """

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._before_shutdown()
        await super().shutdown(sockets=sockets)


def serve(settings: Settings, host: str, port: int, root_path: str) -> None:
    """Run the app with uvicorn until interrupted (``assistant serve``)."""
    from assistant.service import offline_environment

    offline_environment()
    web = WebSettings(root_path=root_path) if root_path else WebSettings()
    configure_logging(json_lines=web.log_json, level=web.log_level)
    app = create_app(settings, web)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    print(f"Serving the assistant on http://{shown}:{port}{web.root_path}/", flush=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        root_path=web.root_path,
        # X-Forwarded-For/-Proto are believed only behind a proxy the settings say is there.
        proxy_headers=web.trust_proxy,
        forwarded_allow_ips="*" if web.trust_proxy else None,
        log_config=None,  # configure_logging's format; uvicorn's access log (with query
        access_log=False,  # strings, hence ?token=) stays off: RequestLog writes its own
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    _Server(config, before_shutdown=app.state.end_streams).run()
