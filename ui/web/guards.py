"""Pure-ASGI guards of the web app: who may call (tokens, basic auth), how often, how much.

Pure ASGI rather than ``BaseHTTPMiddleware``, so they guard streamed responses, websockets
and every route of the mounted Gradio app alike.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import math
import time
from collections.abc import Callable

from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import WebSettings
from ui.web.middleware import SERVICE_PREFIXES, route_path
from ui.web.sessions import Sessions, without_token

__all__ = ["AccessControl", "BodyLimit", "HeadLimit", "RateLimit", "TokenBuckets"]

_OPEN_PATHS = frozenset({"/healthz"})  # probes of load balancers carry no credentials
_PAGE_MULTIPLIER = 10  # the page and its assets: ~75 requests a load, none runs the assistant


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
    """Answers 429 with Retry-After to a client past its rate, on every route but /healthz.

    Requests that run the assistant or change anything (the API, any POST) share one
    bucket of ``per_minute``; the rest (the page, its assets, Gradio's streams) another,
    ten times larger, so loading the page never uses up the questions.

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
        page = per_minute * _PAGE_MULTIPLIER
        self.page_buckets = TokenBuckets(page, page / 60, clock=clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        runs = _runs(scope)
        buckets = self.buckets if runs else self.page_buckets
        wait = buckets.take(self._client(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        limit = round(buckets.capacity)  # a bucket holds a minute's worth
        response = JSONResponse(
            {
                "detail": f"too many requests: the limit is {limit} a minute "
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
    """Refuses request bodies over ``max_bytes`` with 413, declared or streamed, and bodies
    that take longer than ``timeout`` seconds to arrive with 408, on every route."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 20.0) -> None:
        self.app = app
        self._max = max_bytes
        self._timeout = timeout
        self._detail = f"the request body is larger than the limit of {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            await JSONResponse({"detail": self._detail}, 413)(scope, receive, send)
            return
        received = 0
        deadline: float | None = None
        ended = False

        async def receiving() -> Message:
            nonlocal received, deadline, ended
            if ended:  # the body is in: what follows is a disconnect, however late
                return await receive()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + self._timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _SlowBody(
                    408, f"the request body did not arrive within {self._timeout:g} s"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max:  # a chunked body, without a Content-Length
                    raise _BodyTooLarge(413, self._detail)
                ended = not message.get("more_body", False)
            return message

        # FastAPI (the API's and Gradio's alike) turns the HTTPException raised while it
        # reads the body into a JSON response with its status.
        await self.app(scope, receiving, send)


class _SlowBody(HTTPException):
    pass


class HeadLimit:
    """Refuses a request whose head (request line and headers) is over ``max_bytes`` (431).

    The server's parser (h11) refuses a larger head that arrives in pieces, before it is
    held in memory; one that arrives in a single read is complete before it can, so the
    limit is applied again here, to every request alike.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
        size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))
        if size <= self._max:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": f"the request's headers are larger than the limit of {self._max} bytes"},
            status_code=431,
        )
        await response(scope, receive, send)


class AccessControl:
    """Refuses every request but /healthz without the shared token, a session or basic
    credentials.

    ``?token=`` on a GET signs the browser in: a signed session cookie and a redirect to the
    same address without the token. Secrets are compared in constant time and never logged
    or echoed back.
    """

    def __init__(self, app: ASGIApp, web: WebSettings) -> None:
        self.app = app
        self._token = web.auth_token.get_secret_value() if web.auth_token else None
        self._sessions = (
            Sessions(
                self._token,
                max_age_seconds=web.session_hours * 3600,
                cross_site=bool(web.frame_ancestors),
            )
            if self._token
            else None
        )
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
        query_token = QueryParams(scope.get("query_string", b"")).get("token")
        if query_token is not None:
            await self._sign_in(scope, query_token)(scope, receive, send)
            return
        if self._allowed(headers):
            await self.app(scope, receive, send)
            return
        await self._refusal()(scope, receive, send)

    def _sign_in(self, scope: Scope, token: str) -> Response:
        """Sign-in by link: a session cookie and a redirect to the address without the token."""
        if self._sessions is None or self._token is None or not _same(token, self._token):
            return self._refusal()
        if scope.get("method") not in ("GET", "HEAD"):
            return JSONResponse(
                {"detail": "a token in the address only signs a browser in (GET); "
                 "send it as 'Authorization: Bearer <token>'"},
                status_code=400,
            )  # fmt: skip
        return Response(
            status_code=303,
            headers={
                "Location": without_token(scope),
                "Set-Cookie": self._sessions.set_cookie(scope),
                "Cache-Control": "no-store",
            },
        )

    def _refusal(self) -> Response:
        challenge = 'Basic realm="assistant"' if self._basic else 'Bearer realm="assistant"'
        return JSONResponse(
            {"detail": "authentication required: send the shared token or basic credentials"},
            status_code=401,
            headers={"WWW-Authenticate": challenge},
        )

    def _allowed(self, headers: Headers) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if self._token and scheme.lower() == "bearer" and value and _same(value, self._token):
            return True
        if self._sessions is not None and self._sessions.from_headers(headers):
            return True
        if self._basic and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            # `&`, not `and`: both comparisons run, so timing does not tell which one failed.
            return _same(user, self._basic[0]) & _same(password, self._basic[1])
        return False


def _same(given: str, secret: str) -> bool:
    """Constant-time equality; as bytes, since ``compare_digest`` refuses non-ASCII text."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")
    )


def _runs(scope: Scope) -> bool:
    """Whether a request may run the assistant or change something: the API, the OpenAI
    and MCP endpoints, any POST."""
    return route_path(scope).startswith(SERVICE_PREFIXES) or scope.get("method") not in (
        "GET",
        "HEAD",
        "OPTIONS",
    )
