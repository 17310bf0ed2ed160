"""Pure-ASGI middleware of the web app: request ids and access logs, local files only,
the same-origin rule (credentials, rates and sizes are in ``ui.web.guards``; response
headers and the page's HTML in ``ui.web.headers``).

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
    "SERVICE_PREFIXES",
    "CrossOrigin",
    "LocalFilesOnly",
    "RequestLog",
    "route_path",
]

API_PREFIX = "/api/"
# The app's own services beside the page: the API, the OpenAI-compatible chat, MCP.
SERVICE_PREFIXES = (API_PREFIX, "/v1/", "/mcp")


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
                if path.startswith(SERVICE_PREFIXES):
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


class CrossOrigin:
    """Refuses (403) a browser's request sent from another origin than the app's own, unless
    that origin is among the configured CORS origins.

    Reading a response across origins is already CORS's business; this also stops what
    CORS lets through unread: a form or ``no-cors`` POST from another origin of the same
    site (another port of the same host) that would carry the session cookie. Clients that
    are not browsers send no Origin and pass.
    """

    def __init__(self, app: ASGIApp, allowed: Sequence[str], trust_proxy: bool) -> None:
        self.app = app
        self._any = "*" in allowed
        self._allowed = frozenset(o.rstrip("/").lower() for o in allowed)
        self._trust_proxy = trust_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or self._same_origin(scope, headers, origin):
            await self.app(scope, receive, send)
            return
        if self._any or origin.rstrip("/").lower() in self._allowed:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": "cross-origin request refused: this origin may not call the app "
             "(see ASSISTANT_WEB_CORS_ORIGINS)"},
            status_code=403,
        )  # fmt: skip
        await response(scope, receive, send)

    def _same_origin(self, scope: Scope, headers: Headers, origin: str) -> bool:
        # Browsers say so themselves (a header no script can set); otherwise compare the
        # Origin with the address the request was sent to.
        if headers.get("sec-fetch-site") in ("same-origin", "none"):
            return True
        host = headers.get("host", "")
        if self._trust_proxy:
            host = headers.get("x-forwarded-host", host).split(",", 1)[0].strip()
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", ""), scope.get("scheme"))
        return bool(host) and origin.lower() == f"{scheme}://{host}".lower()


def route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
