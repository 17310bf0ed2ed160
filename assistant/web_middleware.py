"""Pure-ASGI middleware of the web app: access control, security headers, page links.

Pure ASGI rather than ``BaseHTTPMiddleware``, so they wrap streamed responses, websockets
and every route of the mounted Gradio app alike.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.web_settings import WebSettings

__all__ = ["AccessControl", "RelativePageLinks", "SecurityHeaders"]

_COOKIE = "assistant_token"
_OPEN_PATHS = frozenset({"/healthz"})  # probes of load balancers carry no credentials
_ROOT_LINK = b'<link rel="manifest" href="/manifest.json" />'
_RELATIVE_LINKS = (
    b'<link rel="manifest" href="./manifest.json" /><link rel="icon" href="./favicon.ico" />'
)


class AccessControl:
    """Refuses every request but /healthz without the shared token or basic credentials.

    Secrets are compared in constant time and never logged or echoed back.
    """

    def __init__(self, app: ASGIApp, web: WebSettings) -> None:
        self.app = app
        self._token = web.auth_token.get_secret_value() if web.auth_token else None
        self._basic = (
            (web.basic_user or "", web.basic_password.get_secret_value())
            if web.basic_password
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _route_path(scope) in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self._allowed(headers):
            await self.app(scope, receive, send)
            return
        query_token = QueryParams(scope.get("query_string", b"")).get("token")
        if self._token and query_token and _same(query_token, self._token):
            await self.app(scope, receive, self._setting_cookie(scope, send))
            return
        challenge = 'Basic realm="assistant"' if self._basic else 'Bearer realm="assistant"'
        response = JSONResponse(
            {"detail": "authentication required: send the shared token or basic credentials"},
            status_code=401,
            headers={"WWW-Authenticate": challenge},
        )
        await response(scope, receive, send)

    def _allowed(self, headers: Headers) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if self._token:
            cookie = _cookies(headers.get("cookie", "")).get(_COOKIE, "")
            for candidate in (value if scheme.lower() == "bearer" else "", cookie):
                if candidate and _same(candidate, self._token):
                    return True
        if self._basic and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            # `&`, not `and`: both comparisons run, so timing does not tell which one failed.
            return _same(user, self._basic[0]) & _same(password, self._basic[1])
        return False

    def _setting_cookie(self, scope: Scope, send: Send) -> Send:
        secure = scope.get("scheme") in ("https", "wss")
        path = scope.get("root_path") or "/"
        cookie = f"{_COOKIE}={self._token}; Path={path}; HttpOnly; " + (
            "SameSite=None; Secure" if secure else "SameSite=Lax"
        )

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        return sending


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
        if scope["type"] != "http" or _route_path(scope) != "/":
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


def _same(given: str, secret: str) -> bool:
    """Constant-time equality; as bytes, since ``compare_digest`` refuses non-ASCII text."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")
    )


def _route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name: value for name, _, value in pairs if name}
