"""Helpers for the web tests: a real server subprocess and a prefix-stripping reverse proxy.

``python tests/web_support.py proxy PORT UPSTREAM PREFIX`` runs the proxy on its own,
the way nginx would sit in front of the app: it strips PREFIX and forwards the rest.
``python tests/web_support.py gated PORT GATE`` runs the app whose assistant is built only
once the file GATE exists, so tests can watch it while it is still loading.
``python tests/web_support.py routes`` prints (method, path) for every route of the app.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from assistant.settings import OFFLINE_ENV

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "Deployment",
    "Probe",
    "ServerProcess",
    "app_requests",
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

Launcher = Literal["serve", "cli", "gated"]
_TEMPLATE: list[Path] = []  # the index built once for this test process (see seed_index)
Probe = tuple[str, str, Any]  # method, path, JSON body or None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def offline_env(data_dir: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The environment for a server: ours cleaned of ASSISTANT_*, offline, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(OFFLINE_ENV, ASSISTANT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    chroma = os.environ.get("TEST_CHROMA_SERVER", "")
    if chroma:  # CI's second pass: the index lives in a `chroma run` server
        host, _, port = chroma.rpartition(":")
        env.update(
            ASSISTANT_CHROMA_HOST=host,
            ASSISTANT_CHROMA_PORT=port,
            ASSISTANT_COLLECTION=f"web-{data_dir.name}"[:60],
        )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A running ``ui.web.serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    statuses: list[int] = field(default_factory=list)

    def wait_ready(self, timeout: float = _READY_TIMEOUT, headers: Mapping[str, str] = {}) -> None:
        """Poll /healthz, recording each status seen, until 200."""
        self._poll(lambda status: status == 200, timeout, headers)

    def wait_listening(self, timeout: float = 60.0) -> None:
        """Poll /healthz until the server answers at all."""
        self._poll(lambda status: True, timeout, {})

    def _poll(
        self, done: Callable[[int], bool], timeout: float, headers: Mapping[str, str]
    ) -> None:
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
            if done(status):
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


def _command(launcher: Launcher, port: int, root_path: str, gate: Path | None) -> list[str]:
    if launcher == "cli":  # what a user types: `assistant serve --port P`
        prefix = ["--root-path", root_path] if root_path else []
        return [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port), *prefix]
    if launcher == "gated":
        if gate is None or root_path:
            raise ValueError("the gated app needs a gate file and serves at the root")
        return [sys.executable, __file__, "gated", str(port), str(gate)]
    # The address comes from ASSISTANT_WEB_* (see start_server), as a deployment sets it.
    code = "from assistant import load_settings; from ui.web import serve; serve(load_settings())"
    return [sys.executable, "-c", code]


def start_server(
    data_dir: Path,
    log_dir: Path,
    *,
    root_path: str = "",
    env: Mapping[str, str] = {},
    launcher: Launcher = "serve",
    gate: Path | None = None,
) -> ServerProcess:
    """Start the app on a free loopback port; returns before it is ready.

    ``launcher`` says how: ``ui.web.serve`` itself, the ``assistant serve``
    command, or the test-only app whose assistant is built once ``gate`` exists.
    """
    port = free_port()
    log = log_dir / f"server-{port}.log"
    address = {"ASSISTANT_WEB_HOST": "127.0.0.1", "ASSISTANT_WEB_PORT": str(port)}
    if root_path:
        address["ASSISTANT_WEB_ROOT_PATH"] = root_path
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _command(launcher, port, root_path, gate),
            cwd=REPO,
            env=offline_env(data_dir, {**(address if launcher == "serve" else {}), **env}),
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
    while_loading: list[httpx.Response] = field(default_factory=list)
    data_dir: Path = Path()  # the server's ASSISTANT_DATA_DIR


@contextmanager
def deployed(
    data_dir: Path,
    log_dir: Path,
    *,
    prefix: str = "",
    env: Mapping[str, str] = {},
    ready_headers: Mapping[str, str] = {},
    launcher: Launcher = "serve",
    probes_while_loading: Sequence[Probe] = (),
) -> Iterator[Deployment]:
    """A ready server (behind the prefix-stripping proxy when ``prefix`` is set).

    With ``probes_while_loading`` the server is the gated one: each probe is sent while the
    assistant is held back from loading, and its response kept in ``while_loading``.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    seed_index(data_dir)
    gate = log_dir / f"gate-{time.monotonic_ns()}" if probes_while_loading else None
    launcher = "gated" if gate else launcher
    server = start_server(
        data_dir, log_dir, root_path=prefix, env=env, launcher=launcher, gate=gate
    )
    proxy: ServerProcess | None = None
    loading: list[httpx.Response] = []
    try:
        if gate:
            server.wait_listening()
            for method, path, body in probes_while_loading:
                loading.append(httpx.request(method, server.url + path, json=body, timeout=30))
            gate.touch()
        server.wait_ready(headers=ready_headers)
        if prefix:
            proxy = start_proxy(server.url, prefix, log_dir)
        yield Deployment(proxy.url if proxy else server.url, server, proxy, loading, data_dir)
    finally:
        if proxy:
            proxy.stop()
        server.stop()


def seed_index(data_dir: Path) -> None:
    """Give a new server's data dir a copy of the index the default settings build.

    Every server would otherwise embed the same entries again at start (half a minute
    each); with the copy it finds the index current, or (other settings) re-embeds only
    what differs. Not with CI's `chroma run` pass, whose index is the server's.
    """
    if os.environ.get("TEST_CHROMA_SERVER") or (data_dir / "chroma").exists():
        return
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="assistant-test-index-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "assistant.cli", "index"],
            cwd=REPO,
            env=offline_env(template),
            check=True,
            capture_output=True,
        )
        _TEMPLATE.append(template)
    shutil.copytree(_TEMPLATE[0] / "chroma", data_dir / "chroma")


def app_requests(data_dir: Path, env: Mapping[str, str] = {}) -> list[tuple[str, str]]:
    """(method, concrete path) for every route of ``create_app()``, Gradio's included.

    Listed in a process of its own: building the Gradio app leaves sockets and event loops
    that ``filterwarnings = error`` would report against whatever test runs next.
    """
    listed = subprocess.run(
        [sys.executable, __file__, "routes"],
        cwd=REPO,
        env=offline_env(data_dir, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [(method, path) for method, path in json.loads(listed.stdout.splitlines()[-1])]


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
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
        # One line a request, for tests to see what a browser sent: the path without its
        # query (it may hold a token) and the names of the cookies, never their values.
        sent = b"; ".join(v for k, v in scope["headers"] if k.lower() == b"cookie").decode()
        names = sorted({part.split("=", 1)[0].strip() for part in sent.split(";") if "=" in part})
        print(f"{scope['method']} {path} cookies={','.join(names)}", flush=True)
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


# -- the gated app (runs in its own process) -------------------------------------------
def _gated_app(gate: Path) -> Any:
    from assistant import AssistantService, Settings, build_assistant
    from ui.web import configure_logging, create_app

    settings = Settings()
    web = settings.web
    configure_logging(json_lines=web.log_json, level=web.log_level)  # as serve() does

    def build() -> AssistantService:
        while not gate.exists():
            time.sleep(0.05)
        return build_assistant(settings).service

    return create_app(settings, build=build)


# -- the route listing (runs in its own process) ----------------------------------------
def _concrete(path: str) -> str:  # '1' for each parameter: '{n}', '{path:path}', ...
    return re.sub(r"\{\w+(?::\w+)?\}", "1", path)


def _requests(routes: Sequence[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    from starlette.routing import Mount

    try:  # recent FastAPI keeps included routers whole; this flattens them
        from fastapi.routing import iter_route_contexts

        contexts: Iterator[Any] = iter_route_contexts(routes)
    except ImportError:  # older FastAPI copied included routes into the app's own list
        contexts = iter(routes)
    for context in contexts:
        route = getattr(context, "original_route", context)
        if isinstance(route, Mount):
            if route.routes:
                yield from _requests(route.routes, prefix + route.path)
            else:  # a mounted app without a route table, e.g. StaticFiles
                yield "GET", _concrete(f"{prefix}{route.path}/{{file}}")
            continue
        for method in sorted(getattr(context, "methods", None) or {"GET"}):  # websockets: GET
            yield method, _concrete(prefix + context.path)


def _list_routes() -> None:
    from assistant import AssistantService
    from assistant.settings import Settings
    from ui.web import create_app

    def never_built() -> AssistantService:
        raise AssertionError("the app is only inspected, never started")

    app = create_app(Settings(), build=never_built)
    print(json.dumps(sorted(set(_requests(app.routes)))))


if __name__ == "__main__":
    import uvicorn

    command = sys.argv[1]
    if command == "routes":
        _list_routes()
    elif command == "gated":
        uvicorn.run(
            _gated_app(Path(sys.argv[3])),
            host="127.0.0.1",
            port=int(sys.argv[2]),
            log_config=None,
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    else:
        assert command == "proxy"
        port, upstream, prefix = sys.argv[2:5]
        uvicorn.run(
            _proxy_app(upstream, prefix),
            host="127.0.0.1",
            port=int(port),
            log_level="warning",
            lifespan="off",
        )
