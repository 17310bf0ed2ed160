"""Pure-ASGI middleware of the web app: request ids and access logs, local files only,
security headers, page links (the guards that refuse requests are in ``ui.web.guards``).

Pure ASGI rather than ``BaseHTTPMiddleware``, so they wrap streamed responses, websockets
and every route of the mounted Gradio app alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from urllib.parse import unquote

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.web.logs import ACCESS, request_context, request_id_from

__all__ = [
    "API_PREFIX",
    "LocalFilesOnly",
    "RelativePageLinks",
    "RequestLog",
    "SecurityHeaders",
    "route_path",
]

_ROOT_LINK = b'<link rel="manifest" href="/manifest.json" />'
_RELATIVE_LINKS = (
    b'<link rel="manifest" href="./manifest.json" /><link rel="icon" href="./favicon.ico" />'
)
API_PREFIX = "/api/"


class RequestLog:
    """Gives each request an id (the client's X-Request-ID when well-formed), echoes it in the
    response, and writes one access line per API request.

    The line holds method, path (never the query string: it may carry a token), status,
    duration and what the endpoint noted; the question only when ``log_questions`` is on.
    """

    def __init__(self, app: ASGIApp, log_questions: bool) -> None:
        self.app = app
        self._log_questions = log_questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        with request_context(request_id) as fields:
            try:
                await self.app(scope, receive, sending)
            except Exception as exc:
                fields["error"] = type(exc).__name__
                raise
            finally:
                path = route_path(scope)
                if path.startswith(API_PREFIX):
                    self._access(scope["method"], path, status, started, fields)

    def _access(
        self, method: str, path: str, status: int, started: float, fields: dict[str, object]
    ) -> None:
        if not self._log_questions:
            fields.pop("question", None)
        duration = round((time.perf_counter() - started) * 1000, 1)
        ACCESS.info(
            "%s %s %d %.1f ms",
            method,
            path,
            status,
            duration,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration}
            | fields,
        )


_REMOTE_FILE = re.compile(r"/(?:gradio_api/)?(?:file|proxy)=\s*[a-z][a-z0-9+.-]*:", re.IGNORECASE)


class LocalFilesOnly:
    """Refuses file routes that name a URL instead of one of the app's own files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _REMOTE_FILE.search(unquote(route_path(scope))):
            response = JSONResponse(
                {"detail": "the file route serves the app's own files only, not URLs"},
                status_code=403,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Says who may frame the page (CSP frame-ancestors) and hardens every response."""

    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str]) -> None:
        self.app = app
        self._csp = "frame-ancestors " + " ".join(["'self'", *frame_ancestors])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                del headers["x-frame-options"]  # superseded by frame-ancestors
                headers["content-security-policy"] = self._csp
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, sending)


class RelativePageLinks:
    """Keeps the page's own requests under a path prefix.

    Gradio's page links ``/manifest.json`` and has no icon link (so the browser asks
    for ``/favicon.ico``): behind a prefix-stripping proxy both leave the prefix and 404.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) != "/":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def buffering(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            fixed = bytes(body).replace(_ROOT_LINK, _RELATIVE_LINKS, 1)
            headers = MutableHeaders(scope=start)
            if "content-length" in headers:
                headers["content-length"] = str(len(fixed))
            await send(start)
            await send({"type": "http.response.body", "body": fixed})

        await self.app(scope, receive, buffering)


def route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
