"""Helpers for the web tests: a real server subprocess and a prefix-stripping reverse proxy.

``python tests/web_support.py proxy PORT UPSTREAM PREFIX`` runs the proxy on its own,
the way nginx would sit in front of the app: it strips PREFIX and forwards the rest.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "Deployment",
    "ServerProcess",
    "deployed",
    "free_port",
    "offline_env",
    "sse_events",
    "start_proxy",
    "start_server",
]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_READY_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def offline_env(data_dir: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The environment for a server: ours cleaned of ASSISTANT_*, offline, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        GRADIO_ANALYTICS_ENABLED="False",
        ANONYMIZED_TELEMETRY="False",
        ASSISTANT_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A running ``assistant.server.serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    statuses: list[int] = field(default_factory=list)

    def wait_ready(self, timeout: float = _READY_TIMEOUT, headers: Mapping[str, str] = {}) -> None:
        """Poll /healthz, recording each status seen, until 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()[-3000:]}")
            try:
                status = httpx.get(
                    f"{self.url}/healthz", headers=dict(headers), timeout=5
                ).status_code
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            self.statuses.append(status)
            if status == 200:
                return
            time.sleep(0.2)
        raise TimeoutError(f"server not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    data_dir: Path, log_dir: Path, *, root_path: str = "", env: Mapping[str, str] = {}
) -> ServerProcess:
    """Start ``serve`` on a free loopback port; returns before it is ready."""
    port = free_port()
    code = (
        "from assistant.server import serve; from assistant.settings import Settings; "
        f"serve(Settings(), '127.0.0.1', {port}, {root_path!r})"
    )
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=offline_env(data_dir, env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(f"http://127.0.0.1:{port}", process, log)


def start_proxy(upstream: str, prefix: str, log_dir: Path) -> ServerProcess:
    """Start the prefix-stripping proxy in front of ``upstream``; waits until it listens."""
    port = free_port()
    log = log_dir / f"proxy-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, __file__, "proxy", str(port), upstream, prefix],
            cwd=REPO,
            env=offline_env(log_dir),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    proxy = ServerProcess(f"http://127.0.0.1:{port}{prefix}", process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proxy
        except OSError:
            time.sleep(0.1)
    proxy.stop()
    raise TimeoutError(f"proxy did not start:\n{log.read_text()}")


@dataclass
class Deployment:
    """A server, optionally behind the prefix proxy; ``url`` is what a browser would open."""

    url: str
    server: ServerProcess
    proxy: ServerProcess | None = None


@contextmanager
def deployed(
    data_dir: Path,
    log_dir: Path,
    *,
    prefix: str = "",
    env: Mapping[str, str] = {},
    ready_headers: Mapping[str, str] = {},
) -> Iterator[Deployment]:
    """A ready server (behind the prefix-stripping proxy when ``prefix`` is set)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(data_dir, log_dir, root_path=prefix, env=env)
    proxy: ServerProcess | None = None
    try:
        server.wait_ready(headers=ready_headers)
        if prefix:
            proxy = start_proxy(server.url, prefix, log_dir)
        yield Deployment(proxy.url if proxy else server.url, server, proxy)
    finally:
        if proxy:
            proxy.stop()
        server.stop()


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream."""
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


# -- the reverse proxy (runs in its own process) --------------------------------------
_OWN = {b"date", b"server"}  # uvicorn adds its own
_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"host", b"te"}


def _proxy_app(upstream: str, prefix: str) -> Any:
    client = httpx.AsyncClient(base_url=upstream, timeout=None)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == prefix:  # like nginx's `location /prefix/`: relative asset URLs need the slash
            location = (prefix + "/").encode()
            await send(
                {"type": "http.response.start", "status": 301, "headers": [(b"location", location)]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if not (path == prefix or path.startswith(prefix + "/")):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not behind the prefix"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP]
        host = dict(scope["headers"]).get(b"host", b"127.0.0.1")
        headers += [
            (b"x-forwarded-host", host),
            (b"x-forwarded-proto", b"http"),
            (b"x-forwarded-prefix", prefix.encode()),
        ]
        target = (path[len(prefix) :] or "/") + (
            "?" + scope["query_string"].decode() if scope["query_string"] else ""
        )
        request = client.build_request(scope["method"], target, headers=headers, content=body)
        response = await client.send(request, stream=True)
        out = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP | _OWN]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await response.aclose()
        await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    import uvicorn

    _, command, port, upstream, prefix = sys.argv
    assert command == "proxy"
    uvicorn.run(
        _proxy_app(upstream, prefix),
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
        lifespan="off",
    )
