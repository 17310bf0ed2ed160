"""Gradio's routes: only those the page uses are open (the rest of its ~80 answer 404), and
what the page sends to its queue is checked before Gradio runs it.

Gradio mounts routes for uploads, file proxies, its own HTTP API, monitoring, a
"vibe" editor and more; the page has no file input and uses none of them. Closed here,
they cannot be used to store files, fetch URLs or run the chat outside the limits.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.assets import STATIC_PATH
from ui.web.middleware import SERVICE_PREFIXES, route_path
from ui.web.routes import MAX_TURNS

__all__ = ["PAGE_ROUTES", "GradioQueueCheck", "GradioRoutes"]

log = logging.getLogger(__name__)

# What the page (and gradio_client, which reads the config and the API description) asks for.
PAGE_ROUTES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    # method: (exact paths, path prefixes)
    "GET": (
        frozenset(
            {
                "/", "/config", "/config/", "/theme.css", "/gradio_api/theme.css",
                "/favicon.ico", "/manifest.json", "/robots.txt", "/gradio_api/info",
                "/gradio_api/info/", "/gradio_api/queue/data",
            }
        ),
        ("/assets/", "/static/", "/gradio_api/heartbeat/"),
    ),
    "POST": (frozenset({"/gradio_api/queue/join", "/gradio_api/cancel"}), ()),
}  # fmt: skip
PAGE_ROUTES["HEAD"] = PAGE_ROUTES["GET"]
_OWN = ("/healthz",)
_OWN_PREFIXES = (*SERVICE_PREFIXES, STATIC_PATH + "/")


class GradioRoutes:
    """Answers 404 to any request for a Gradio route the page does not use."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")  # a websocket opens with a GET
        if scope["type"] not in ("http", "websocket") or _open(method, route_path(scope) or "/"):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": "not found: the app does not serve this route"}, status_code=404
        )
        await response(scope, receive, send)


def _open(method: str, path: str) -> bool:
    if path.startswith(_OWN_PREFIXES) or path in _OWN:
        return True  # the app's own routes answer for themselves (405, 404, ...)
    exact, prefixes = PAGE_ROUTES.get(method, (frozenset(), ()))
    return path in exact or path.startswith(prefixes)


class GradioQueueCheck:
    """Checks what the page sends to Gradio's queue before Gradio runs it.

    Gradio answers a malformed call with a traceback per error in the log (3,000 for a
    3,000-message chat) and the whole list in the reply, and a stream for an unknown
    session with a traceback after its response has started. Here such a request gets a
    short 4xx instead, with one log line: the body must be the page's own call shape, each
    input valid for its component (Gradio's own models), no list longer than a
    conversation may be; a stream must name a session the queue knows.
    """

    def __init__(self, app: ASGIApp, blocks: Any, max_items: int = 2 * MAX_TURNS) -> None:
        self.app = app
        self._blocks = blocks
        self._max_items = max_items

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = route_path(scope), scope.get("method")
        try:
            if method == "POST" and path == _JOIN:
                receive = await self._checked_join(receive)
            elif method == "GET" and path == _DATA:
                self._check_session(QueryParams(scope.get("query_string", b"")))
            elif (
                method == "GET"
                and path.startswith(_HEARTBEAT)
                and not _SESSION.fullmatch(unquote(path[len(_HEARTBEAT) :]))
            ):
                # Any well-formed session may beat (the page's does before it joins); an
                # ill-formed one made Gradio fail building a URL once the stream ended.
                raise HTTPException(422, "the session in the heartbeat's path is malformed")
        except HTTPException as refused:
            log.info("gradio %s %s refused: %s", method, path, refused.detail)
            await JSONResponse({"detail": refused.detail}, refused.status_code)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)

    async def _checked_join(self, receive: Receive) -> Receive:
        body = bytearray()
        while True:
            message = await receive()  # BodyLimit's: raises 413/408 itself
            if message["type"] != "http.request":
                raise HTTPException(400, "the request ended before its body")
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        self._check_call(bytes(body))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return replay

    def _check_call(self, body: bytes) -> None:
        try:
            call = _QueueCall.model_validate_json(body)
        except ValidationError as error:
            raise HTTPException(422, f"not a call of this page: {_first(error)}") from None
        fn = self._blocks.fns.get(call.fn_index)
        if fn is None:
            raise HTTPException(422, f"not a call of this page: no event {call.fn_index}")
        if len(call.data) != len(fn.inputs):
            raise HTTPException(
                422, f"event {call.fn_index} takes {len(fn.inputs)} inputs, not {len(call.data)}"
            )
        for block, value in zip(fn.inputs, call.data, strict=True):
            if _longest_list(value) > self._max_items:
                raise HTTPException(
                    413, f"an input holds more than {self._max_items} items, a conversation's limit"
                )
            if value is None or getattr(block, "stateful", False):
                continue
            name = type(block).__name__
            model = getattr(block, "data_model", None)
            if model is None:
                wrong = _primitive_mismatch(block, value)
                if wrong:
                    raise HTTPException(422, f"invalid input for the {name}: {wrong}")
                continue
            try:
                model.model_validate(value, context={"validate_meta": True})
            except ValidationError as error:
                raise HTTPException(422, f"invalid input for the {name}: {_first(error)}") from None

    def _check_session(self, query: QueryParams) -> None:
        session = query.get("session_hash", "")
        if not _SESSION.fullmatch(session):
            raise HTTPException(422, "session_hash is missing or malformed")
        queue = getattr(self._blocks, "_queue", None)
        known = getattr(queue, "pending_messages_per_session", None)
        if known is not None and session not in known:
            raise HTTPException(404, "no such session: join the queue first")


_JOIN = "/gradio_api/queue/join"
_DATA = "/gradio_api/queue/data"
_HEARTBEAT = "/gradio_api/heartbeat/"
_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class _QueueCall(BaseModel):
    """What the page posts to join Gradio's queue (other fields are Gradio's business)."""

    model_config = ConfigDict(extra="allow")

    data: list[Any] = Field(max_length=64)
    fn_index: int = Field(ge=0)
    session_hash: str = Field(pattern=_SESSION.pattern, max_length=64)


_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _primitive_mismatch(block: Any, value: Any) -> str:
    """Why ``value`` is not what a component without a data model takes (its API type: an
    example's index, a textbox's text), or '' when it is (or the type is not a primitive).
    Gradio would otherwise fail on it with a traceback ('x' as the examples' index)."""
    info = block.api_info() if hasattr(block, "api_info") else {}
    kind = info.get("type") if isinstance(info, dict) else None
    if kind not in _PRIMITIVES:
        return ""
    if not isinstance(value, _PRIMITIVES[kind]) or (kind != "boolean" and isinstance(value, bool)):
        return f"expected {'an' if kind == 'integer' else 'a'} {kind}"
    samples = getattr(block, "samples", None)
    if isinstance(value, int) and isinstance(samples, list) and not 0 <= value < len(samples):
        return f"no example {value} (there are {len(samples)})"
    return ""


def _first(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = error.error_count() - 1
    return (f"{where}: " if where else "") + first["msg"] + (f" (and {more} more)" if more else "")


def _longest_list(value: Any, depth: int = 0) -> int:
    """The length of the longest list anywhere in ``value`` (JSON nesting is bounded)."""
    if depth > 32:
        return 0
    if isinstance(value, list):
        return max([len(value), *(_longest_list(v, depth + 1) for v in value)])
    if isinstance(value, dict):
        return max([0, *(_longest_list(v, depth + 1) for v in value.values())])
    return 0
