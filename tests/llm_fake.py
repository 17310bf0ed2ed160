"""A scripted OpenAI-compatible chat server on 127.0.0.1, speaking real HTTP.

It serves ``POST /v1/chat/completions``, plain (one JSON body) and streamed (SSE
``data: {...}`` chunks ending in ``data: [DONE]``), and behaves as scripted per test:
a reply, an HTTP error (with Retry-After), a delay beyond the client's timeout, an empty
or malformed reply, a stream that stalls half-way. It records every request it gets.
For "connection refused" use ``closed_port_url()``: a port nothing listens on.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Behaviour",
    "Empty",
    "FakeLLM",
    "Malformed",
    "Recorded",
    "Reply",
    "Slow",
    "Stall",
    "Status",
    "closed_port_url",
    "running",
]


@dataclass(frozen=True)
class Reply:
    """Answer with ``text``; streamed in chunks of ``chunk`` characters, ``pause`` apart."""

    text: str
    chunk: int = 7
    pause: float = 0.0


@dataclass(frozen=True)
class Status:
    """Fail with HTTP ``code`` (and a Retry-After header when given)."""

    code: int
    retry_after: str | None = None


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` before behaving as ``then``."""

    seconds: float
    then: Behaviour = field(default_factory=lambda: Reply("Te laat. [§4]"))


@dataclass(frozen=True)
class Empty:
    """A well-formed reply without any text (a stream of no content chunks)."""


@dataclass(frozen=True)
class Malformed:
    """A 200 response whose body (or first SSE event) is not JSON."""


@dataclass(frozen=True)
class Stall:
    """Stream ``text``, then go quiet for ``seconds`` and close without [DONE]."""

    text: str
    seconds: float


Behaviour = Reply | Status | Slow | Empty | Malformed | Stall


@dataclass(frozen=True)
class Recorded:
    """One request the server got."""

    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        """The text of the (first) message with ``role``."""
        return next(str(m["content"]) for m in self.messages if m["role"] == role)

    @property
    def streamed(self) -> bool:
        return bool(self.body.get("stream"))


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a slow reply is what the tests arrange


class FakeLLM:
    """The server; ``script()`` sets what the next requests get (the last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: list[Behaviour] = [Reply("Geen script. [§4]")]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean

            def do_POST(self) -> None:
                fake._handle(self)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """What the next requests get, in order; the last one answers all later requests."""
        with self._lock:
            self._script = list(behaviours)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # wakes slow and stalled handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self) -> Behaviour:
        with self._lock:
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        with self._lock:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.requests.append(Recorded(handler.path, headers, body))
        if handler.path.rstrip("/") != "/v1/chat/completions":
            self._send(handler, 404, b'{"error": {"message": "not found"}}')
            return
        with suppress(BrokenPipeError, ConnectionResetError):
            self._behave(handler, self._next(), bool(body.get("stream")), body.get("model", ""))

    def _behave(
        self, handler: BaseHTTPRequestHandler, behaviour: Behaviour, stream: bool, model: str
    ) -> None:
        if isinstance(behaviour, Slow):
            if self._stop.wait(behaviour.seconds):
                return
            self._behave(handler, behaviour.then, stream, model)
        elif isinstance(behaviour, Status):
            error = {"error": {"message": f"scripted {behaviour.code}", "type": "scripted"}}
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            self._send(handler, behaviour.code, json.dumps(error).encode(), headers)
        elif isinstance(behaviour, Malformed):
            if stream:
                self._open_stream(handler)
                handler.wfile.write(b'data: {"choices": [{"delta": {"content": "Half\n\n')
            else:
                self._send(handler, 200, b'{"id": "chatcmpl-fake", "choices": [')
        elif not stream:
            text = behaviour.text if isinstance(behaviour, Reply | Stall) else ""
            if isinstance(behaviour, Stall) and self._stop.wait(behaviour.seconds):
                return
            self._send(handler, 200, json.dumps(_completion(text, model)).encode())
        else:
            self._open_stream(handler)
            write = handler.wfile.write
            write(_chunk(model, {"role": "assistant", "content": ""}))
            text = behaviour.text if isinstance(behaviour, Reply | Stall) else ""
            size = behaviour.chunk if isinstance(behaviour, Reply) else 5
            pause = behaviour.pause if isinstance(behaviour, Reply) else 0.0
            for start in range(0, len(text), size):
                write(_chunk(model, {"content": text[start : start + size]}))
                handler.wfile.flush()
                if pause and self._stop.wait(pause):
                    return
            if isinstance(behaviour, Stall):
                self._stop.wait(behaviour.seconds)
                return
            write(_chunk(model, {}, "stop"))
            write(b"data: [DONE]\n\n")
        handler.wfile.flush()

    @staticmethod
    def _open_stream(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        code: int,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


@contextmanager
def running() -> Iterator[FakeLLM]:
    """A started server, stopped on exit."""
    server = FakeLLM()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 whose port nothing listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
