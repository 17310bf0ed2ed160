"""The ASGI app: the HTTP API and the Gradio page mounted at ``/``, behind the middleware.

The assistant is built in a background thread when the app starts, so the port
answers at once: ``/healthz`` and the API say 503 until the index and the model
are loaded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from assistant import AssistantService, IndexError_, Settings, WebSettings, build_assistant
from ui.assets import PAGE_SCRIPT, STATIC_PATH
from ui.web.answer_routes import router as answer_router
from ui.web.gradio_routes import GradioQueueCheck, GradioRoutes
from ui.web.guards import AccessControl, BodyLimit, HeadLimit, RateLimit
from ui.web.headers import PageHtml, SecurityHeaders
from ui.web.holder import ServiceHolder
from ui.web.middleware import CrossOrigin, LocalFilesOnly, RequestLog
from ui.web.openai_routes import router as openai_router
from ui.web.routes import router

__all__ = ["create_app"]

log = logging.getLogger(__name__)


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
    settings: Settings, *, build: Callable[[], AssistantService] | None = None
) -> FastAPI:
    """The whole app: API, Gradio page, access control and embedding headers.

    Args:
        build: makes the service (default: ``build_assistant(settings)``), in the background.
    """
    import gradio as gr

    from ui.page import ChatPage

    web = settings.web
    holder = ServiceHolder(build or (lambda: build_assistant(settings).service))

    mcp = _mcp(holder, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.start()
        try:
            if mcp is None:
                yield
            else:
                async with mcp.session_manager.run():  # the MCP transport's task group
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
    app.include_router(answer_router)
    app.include_router(openai_router)
    if mcp is not None:
        app.mount("/mcp", _PostOnly(mcp.streamable_http_app(**_mcp_http(web))), name="mcp")
    page = ChatPage(lambda: holder.get(wait=120.0), web)
    # The page's own script, mounted before the page so "/" does not shadow it.
    app.mount(STATIC_PATH, StaticFiles(directory=PAGE_SCRIPT.parent), name="ui-static")
    blocks = page.build()
    gr.mount_gradio_app(app, blocks, path="/", **page.mount_options())
    app.state.end_streams = _stream_ender(app)
    _wrap(app, web, blocks)
    return app


class _PostOnly:
    """The MCP endpoint without its standalone GET stream (405, as the protocol allows): the
    tools never notify, and an open stream per client would hold a connection for nothing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = JSONResponse(
                {"detail": "this MCP endpoint offers no event stream; POST requests to it"},
                status_code=405,
                headers={"Allow": "POST, DELETE"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _mcp_http(web: WebSettings) -> dict[str, Any]:
    """Stateless (each request stands alone, so replicas share no sessions), plain JSON
    replies, and the SDK's DNS-rebinding check: localhost and ``mcp_hosts`` only."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", *web.mcp_hosts]
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    security = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)
    return {
        "streamable_http_path": "/",
        "stateless_http": True,
        "json_response": True,
        "transport_security": security,
    }


def _mcp(holder: ServiceHolder, settings: Settings) -> Any:
    """The MCP server over the shared service, or None without the ``mcp`` package."""
    try:
        from ui.mcp import build_mcp
    except ImportError:  # pragma: no cover - the web extra brings it
        log.warning("the mcp package is missing: /mcp is off (pip install '.[web]')")
        return None
    return build_mcp(lambda: holder.get(wait=120.0), settings.document_title)


def _wrap(app: FastAPI, web: WebSettings, blocks: Any) -> None:
    """Add the middleware, after the page's mount so it wraps the API and every Gradio route.

    The last added is the outermost: other origins are refused before anything else runs;
    CORS answers the configured origins' preflights before the rate limit counts them and
    access control asks for credentials (browsers send none with a preflight); the rate
    limit counts refused credentials too (it slows guessing); only then are Gradio's unused
    routes closed, so a request without credentials learns nothing of them. Every response,
    refusals included, gets the security headers, its request id and its access line.
    """
    from fastapi.middleware.cors import CORSMiddleware

    app.add_middleware(GradioQueueCheck, blocks=blocks)
    app.add_middleware(BodyLimit, max_bytes=web.max_body_bytes, timeout=web.request_timeout_seconds)
    app.add_middleware(GradioRoutes)
    if web.protected:
        app.add_middleware(AccessControl, web=web)
    if web.rate_limit_per_minute:
        app.add_middleware(
            RateLimit, per_minute=web.rate_limit_per_minute, trust_proxy=web.trust_proxy
        )
    # Always present, even with no origin allowed: Gradio then leaves CORS to it instead of
    # echoing any Origin with credentials. Credentials are never allowed: another site's
    # script calls with the token in its Authorization header, never with the user's cookie.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=web.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
        allow_credentials=False,
    )
    app.add_middleware(CrossOrigin, allowed=web.cors_origins, trust_proxy=web.trust_proxy)
    app.add_middleware(HeadLimit, max_bytes=web.max_header_bytes)
    app.add_middleware(LocalFilesOnly)
    app.add_middleware(PageHtml, frame_ancestors=web.frame_ancestors)
    app.add_middleware(SecurityHeaders, frame_ancestors=web.frame_ancestors)
    app.add_middleware(RequestLog, log_questions=web.log_questions)


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
