"""Pure-ASGI guards of the web app: who may call (tokens, basic auth), how often, how much.

Pure ASGI rather than ``BaseHTTPMiddleware``, so they guard streamed responses, websockets
and every route of the mounted Gradio app alike.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import time
from collections.abc import Callable

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import WebSettings
from ui.web.middleware import API_PREFIX, route_path

__all__ = ["AccessControl", "BodyLimit", "RateLimit", "TokenBuckets"]

_COOKIE = "assistant_token"
_OPEN_PATHS = frozenset({"/healthz"})  # probes of load balancers carry no credentials
# Gradio's routes that run the assistant: its queue and its HTTP API (POST only; the GETs
# that follow stream the result of a request already counted).
_GRADIO_RUNS = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/")


class TokenBuckets:
    """One token bucket per client: ``capacity`` requests at once, refilled at ``per_second``.

    Least recently seen clients are forgotten past ``max_clients`` (a forgotten client
    starts again with a full bucket), so memory stays bounded under many addresses.
    """

    def __init__(
        self,
        capacity: float,
        per_second: float,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or per_second <= 0:
            raise ValueError("a bucket needs a capacity of at least 1 and a positive rate")
        self.capacity = capacity
        self.per_second = per_second
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def take(self, client: str) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        now = self._clock()
        tokens, when = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - when) * self.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.per_second
        self._buckets[client] = (tokens, now)  # re-inserted: the dict is in order of use
        while len(self._buckets) > self._max_clients:
            del self._buckets[next(iter(self._buckets))]
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    """Answers 429 with Retry-After to a client past its rate on the API and Gradio's runs.

    The client is the connection's address, or with ``trust_proxy`` the first hop of
    X-Forwarded-For (which only a trusted reverse proxy may set).
    """

    def __init__(
        self,
        app: ASGIApp,
        per_minute: int,
        *,
        trust_proxy: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._per_minute = per_minute
        self._trust_proxy = trust_proxy
        self.buckets = TokenBuckets(per_minute, per_minute / 60, clock=clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _limited(scope):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._client(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        response = JSONResponse(
            {
                "detail": f"too many requests: the limit is {self._per_minute} a minute "
                f"per client; retry in {retry} s"
            },
            status_code=429,
            headers={"Retry-After": str(retry)},
        )
        await response(scope, receive, send)

    def _client(self, scope: Scope) -> str:
        if self._trust_proxy:
            forwarded = Headers(scope=scope).get("x-forwarded-for", "")
            first = forwarded.split(",", 1)[0].strip()
            if first:
                return first
        client = scope.get("client")
        return str(client[0]) if client else "unknown"


class _BodyTooLarge(HTTPException):
    pass


class BodyLimit:
    """Refuses API request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self._max = max_bytes
        self._detail = f"the request body is larger than the limit of {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not route_path(scope).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            await JSONResponse({"detail": self._detail}, 413)(scope, receive, send)
            return
        received = 0

        async def receiving() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max:  # a chunked body, without a Content-Length
                    raise _BodyTooLarge(413, self._detail)
            return message

        # FastAPI turns the exception raised while it reads the body into a JSON 413.
        await self.app(scope, receiving, send)


# Gradio's file route also fetches a URL given as the "file" (refusing only loopback
# and private addresses): from an intranet server that is a way out to the internet.
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
        if scope["type"] not in ("http", "websocket") or route_path(scope) in _OPEN_PATHS:
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


def _same(given: str, secret: str) -> bool:
    """Constant-time equality; as bytes, since ``compare_digest`` refuses non-ASCII text."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")
    )


def _limited(scope: Scope) -> bool:
    path = route_path(scope)
    return path.startswith(API_PREFIX) or (
        scope.get("method") == "POST" and path.startswith(_GRADIO_RUNS)
    )


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name: value for name, _, value in pairs if name}
