"""The doors Gradio opens beside the app's own routes, each finding of the security review
reproduced against a real server: cross-site reads, uploads, the token in URLs, Gradio's
routes outside the limits, unbounded headers and trickled requests, missing headers.

The server is reached directly (no proxy): as an intranet proxy would, the tests send
Host, X-Forwarded-For and X-Forwarded-Proto themselves, and trust_proxy is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web_support import Deployment, app_requests, deployed
from ui.web.gradio_routes import PAGE_ROUTES

pytestmark = [pytest.mark.server, pytest.mark.slow]

TOKEN = "side-doors-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ALLOWED = "https://intranet.example.org"
EVIL = "https://evil.example"
TIMEOUT = 2  # seconds a client has for a request's head, and again for its body
ENV = {
    "ASSISTANT_WEB_AUTH_TOKEN": TOKEN,
    "ASSISTANT_WEB_CORS_ORIGINS": ALLOWED,
    "ASSISTANT_WEB_TRUST_PROXY": "true",
    "ASSISTANT_WEB_RATE_LIMIT_PER_MINUTE": "30",
    "ASSISTANT_WEB_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT),
}
_client_numbers = iter(range(1, 250))


def _client() -> dict[str, str]:
    """Headers of a client of its own (the proxy is trusted: X-Forwarded-For names it)."""
    return {"X-Forwarded-For": f"192.0.2.{next(_client_numbers)}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("side-doors")
    with deployed(base / "index", base, env=ENV) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def http(server: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=BEARER, timeout=30) as client:
        yield client


def _ask_call(http: httpx.Client, chat: Sequence[object]) -> dict[str, Any]:
    config = http.get("/config", headers=_client()).json()
    ask = next(d for d in config["dependencies"] if d.get("api_name") == "ask")
    return {
        # The question, the chat, then the event's states (None: the session's own).
        "data": ["Wat veroordeelt de EU met klem?", list(chat)] + [None] * (len(ask["inputs"]) - 2),
        "fn_index": ask["id"],
        "trigger_id": ask["targets"][0][0],
        "session_hash": "sidedoors1",
        "event_data": None,
    }


# -- 1. cross-site reads ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/config", "/gradio_api/info", "/api/paragraphs/4", "/"])
def test_another_origin_is_refused_on_gradio_routes_as_on_the_api(
    http: httpx.Client, path: str
) -> None:
    # The review's request: a non-localhost Host made Gradio echo any Origin, with credentials.
    headers = {"Host": "intranet.example.org", "Origin": EVIL, **_client()}
    response = http.get(path, headers=headers)
    assert response.status_code == 403
    assert "cross-origin request refused" in response.json()["detail"]
    assert not any(h.startswith("access-control-") for h in response.headers)
    preflight = http.options(path, headers={**headers, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403


@pytest.mark.parametrize("path", ["/config", "/gradio_api/info", "/api/paragraphs/4"])
def test_a_configured_origin_may_read_but_never_with_credentials(
    http: httpx.Client, path: str
) -> None:
    headers = {"Host": "intranet.example.org", "Origin": ALLOWED, **_client()}
    response = http.get(path, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in response.headers
    preflight = http.options(path, headers={**headers, "Access-Control-Request-Method": "GET"})
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in preflight.headers


def test_the_app_own_origin_passes(http: httpx.Client, server: Deployment) -> None:
    # What the page itself sends: its own origin, or the browser's Sec-Fetch-Site.
    own = {"Origin": server.url, **_client()}
    assert http.get("/config", headers=own).status_code == 200
    proxied = {"Origin": "https://assistant.example.org", "Sec-Fetch-Site": "same-origin"}
    assert http.get("/config", headers={**proxied, **_client()}).status_code == 200


# -- 2. uploads and the other routes the page does not use --------------------------------
def test_uploads_are_closed(http: httpx.Client) -> None:
    files = {"files": ("note.txt", b"x" * 10_000_000, "text/plain")}
    response = http.post("/gradio_api/upload", files=files, headers=_client())
    assert response.status_code in (404, 413)  # closed, and far over the body limit anyway
    small = http.post("/gradio_api/upload", files={"files": ("a.txt", b"a")}, headers=_client())
    assert small.status_code == 404
    assert small.json()["detail"].startswith("not found")


def test_every_gradio_route_the_page_does_not_use_is_closed(
    http: httpx.Client, tmp_path: Path
) -> None:
    requests = app_requests(tmp_path, ENV)
    assert ("POST", "/gradio_api/upload") in requests
    closed = [
        (method, path)
        for method, path in requests
        if not path.startswith(("/api/", "/healthz", "/ui-static/", "/v1/", "/mcp"))
        and not (path in PAGE_ROUTES[method][0] or path.startswith(PAGE_ROUTES[method][1]))
    ]
    assert len(closed) > 40  # uploads, proxies, Gradio's own API, monitoring, vibe editor, ...
    opened = []
    for method, path in closed:
        response = http.request(method, path, headers=_client())
        if response.status_code != 404:
            opened.append(f"{method} {path}: {response.status_code}")
    assert opened == []


# -- 3. the token in URLs ---------------------------------------------------------------
def test_sign_in_by_link_redirects_without_the_token(server: Deployment) -> None:
    with httpx.Client(base_url=server.url, timeout=30, headers=_client()) as browser:
        signed_in = browser.get("/", params={"token": TOKEN, "tab": "document"})
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/?tab=document"
        assert signed_in.headers["cache-control"] == "no-store"
        cookie = signed_in.headers["set-cookie"]
        assert TOKEN not in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain http here
        page = browser.get(signed_in.headers["location"])
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        value = browser.cookies["assistant_session"]
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert (
        httpx.get(server.url + "/config", cookies={"assistant_session": forged}).status_code == 401
    )
    assert httpx.get(server.url + "/config", cookies={"assistant_token": TOKEN}).status_code == 401


def test_sign_in_over_https_sets_a_secure_cookie(server: Deployment) -> None:
    response = httpx.get(
        server.url + "/",
        params={"token": TOKEN},
        headers={"X-Forwarded-Proto": "https", **_client()},
    )
    assert response.status_code == 303
    assert "; Secure" in response.headers["set-cookie"]
    assert "SameSite=Lax" in response.headers["set-cookie"]  # no frame ancestor configured


# -- 4. Gradio's routes under the limits --------------------------------------------------
def test_gradio_runs_are_rate_limited(http: httpx.Client) -> None:
    client = _client()
    statuses = [
        http.post("/gradio_api/api/ask", json={"data": []}, headers=client).status_code
        for _ in range(40)
    ]
    assert statuses[:30] == [404] * 30  # closed, and counted: 30 a minute
    assert statuses[-5:] == [429] * 5  # (one may pass in between: the bucket refills)


def test_gradio_reads_are_rate_limited_at_ten_times_the_rate(http: httpx.Client) -> None:
    client = _client()
    statuses = [http.get("/gradio_api/info", headers=client).status_code for _ in range(400)]
    assert statuses[:300] == [200] * 300  # the page's bucket: 10 x 30 a minute
    assert statuses.count(429) >= 50  # the rest, but for what refills meanwhile (5 a second)


def test_a_ten_megabyte_queue_body_is_413(http: httpx.Client) -> None:
    response = http.post(
        "/gradio_api/queue/join",
        content=b"{" + b" " * 10_000_000 + b"}",
        headers={"content-type": "application/json", **_client()},
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


def test_a_three_thousand_message_chat_is_refused_briefly(
    http: httpx.Client, server: Deployment
) -> None:
    chat = [{"role": "user", "content": [{"type": "text", "text": "a"}]}] * 3000
    response = http.post("/gradio_api/queue/join", json=_ask_call(http, chat), headers=_client())
    assert response.status_code == 413
    assert len(response.content) < 300
    malformed = [{"role": "user", "content": "a"}] * 50
    refused = http.post(
        "/gradio_api/queue/join", json=_ask_call(http, malformed), headers=_client()
    )
    assert refused.status_code == 422
    assert "invalid input for the Chatbot" in refused.json()["detail"]
    assert "(and 49 more)" in refused.json()["detail"]  # one line, not fifty


def test_an_example_index_that_is_not_one_is_refused_briefly(http: httpx.Client) -> None:
    # The examples' Dataset has no data model: Gradio would index its samples with whatever
    # came ('x') and log a traceback.
    config = http.get("/config", headers=_client()).json()
    datasets = {c["id"] for c in config["components"] if c.get("type") == "dataset"}
    event = next(d for d in config["dependencies"] if set(d["inputs"]) & datasets)
    for value, why in (("x", "expected an integer"), (99, "no example 99")):
        call = {"data": [value], "fn_index": event["id"], "session_hash": "examples1"}
        refused = http.post("/gradio_api/queue/join", json=call, headers=_client())
        assert refused.status_code == 422
        assert why in refused.json()["detail"]
    call = {"data": [0], "fn_index": event["id"], "session_hash": "examples2"}
    assert http.post("/gradio_api/queue/join", json=call, headers=_client()).status_code == 200


def test_a_stream_for_an_unknown_session_is_a_clean_404(
    http: httpx.Client, server: Deployment
) -> None:
    response = http.get(
        "/gradio_api/queue/data", params={"session_hash": "nobody"}, headers=_client()
    )
    assert response.status_code == 404
    assert response.json()["detail"].startswith("no such session")
    bad = http.get("/gradio_api/queue/data", params={"session_hash": "../x"}, headers=_client())
    assert bad.status_code == 422


def test_a_well_formed_chat_still_runs(http: httpx.Client) -> None:
    call = _ask_call(http, [])
    joined = http.post("/gradio_api/queue/join", json=call, headers=_client())
    assert joined.status_code == 200
    events = []
    session = str(call["session_hash"])
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1].get("msg") == "process_completed":
                    break
    assert events[-1]["success"] is True
    assert "[§4]" in json.dumps(events[-1]["output"], ensure_ascii=False)


# -- 5. header size and slow requests -------------------------------------------------------
def _connect(server: Deployment) -> socket.socket:
    where = urlsplit(server.url)
    return socket.create_connection((where.hostname or "", where.port or 80), timeout=30)


def _refusal_of(server: Deployment, head: bytes) -> bytes:
    """What the server answers to ``head``: its status line, or b"reset" when it closed the
    connection before the client could read an answer (it refused mid-way)."""
    with _connect(server) as sock:
        try:
            sock.sendall(head)
            return sock.recv(4096).split(b"\r\n", 1)[0]
        except ConnectionResetError:
            return b"reset"
        except BrokenPipeError:
            with contextlib.suppress(OSError):
                return sock.recv(4096).split(b"\r\n", 1)[0] or b"reset"
            return b"reset"


@pytest.mark.parametrize("size", [100_000, 8_000_000], ids=["100KB", "8MB"])
def test_an_oversized_request_head_is_refused(server: Deployment, size: int) -> None:
    # Whether the parser (while the head arrives) or the app (a head that came in one
    # read) refuses it depends on how the bytes arrive; refused it is, either way.
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * size + b"\r\n\r\n"
    refusal = _refusal_of(server, head)
    assert refusal == b"reset" or refusal[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 431"), refusal
    assert httpx.get(server.url + "/healthz").status_code == 200  # and it is still there


def test_the_app_refuses_a_head_over_its_limit_with_431() -> None:
    from starlette.responses import PlainTextResponse

    from ui.web import HeadLimit

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("ok")(scope, receive, send)

    async def get(headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=HeadLimit(inner, max_bytes=32_768))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/", headers=headers)

    assert asyncio.run(get({"X-Padding": "a" * 30_000})).status_code == 200
    refused = asyncio.run(get({"X-Padding": "a" * 40_000}))
    assert refused.status_code == 431
    assert "larger than the limit of 32768 bytes" in refused.json()["detail"]


def test_a_trickled_request_head_is_cut_off(server: Deployment) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(TIMEOUT * 4 + 8):  # a header byte every half second, for twice as long
            time.sleep(0.5)
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            sock.setblocking(False)
            try:
                closed = sock.recv(1) == b""
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if closed:
                break
    assert closed


def test_a_trickled_body_gets_408(server: Deployment) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n".encode()
        )
        reply = b""
        for _ in range(TIMEOUT * 4 + 8):
            time.sleep(0.5)
            try:
                sock.sendall(b" ")
            except OSError:
                break
            sock.setblocking(False)
            try:
                reply += sock.recv(4096)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if reply:
                break
        reply += _rest_of(sock, reply)  # the body may follow the head in a later packet
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"did not arrive within" in reply


def _rest_of(sock: socket.socket, reply: bytes, timeout: float = 5.0) -> bytes:
    """What is still to come of a response whose start is ``reply`` (by Content-Length)."""
    head, _, body = reply.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    more = b""
    sock.settimeout(timeout)
    while length and len(body) + len(more) < int(length.group(1)):
        try:
            chunk = sock.recv(4096)
        except OSError:
            break
        if not chunk:
            break
        more += chunk
    return more


# -- 6. headers on every route class ---------------------------------------------------------
ROUTE_CLASSES = {
    "page": ("GET", "/", BEARER, 200),
    "api": ("GET", "/api/paragraphs/4", BEARER, 200),
    "gradio": ("GET", "/config", BEARER, 200),
    "asset": ("GET", "/ui-static/page.js", BEARER, 200),
    "refused": ("GET", "/api/paragraphs/4", {}, 401),
    "closed": ("POST", "/gradio_api/upload", BEARER, 404),
    "other origin": ("GET", "/config", {**BEARER, "Origin": EVIL}, 403),
}


@pytest.mark.parametrize("route_class", list(ROUTE_CLASSES))
def test_headers_on_every_route_class(server: Deployment, route_class: str) -> None:
    method, path, headers, status = ROUTE_CLASSES[route_class]
    response = httpx.request(method, server.url + path, headers={**headers, **_client()})
    assert response.status_code == status
    csp = response.headers["content-security-policy"]
    for directive in ("default-src 'self'", "connect-src 'self'", "img-src 'self'",
                      "object-src 'none'", "frame-ancestors 'self'"):  # fmt: skip
        assert directive in csp
    script = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "unsafe" not in script
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in response.headers["permissions-policy"]
    assert "microphone=()" in response.headers["permissions-policy"]
    if route_class == "asset":
        assert response.headers.get("cache-control") != "no-store"
    else:
        assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain http
    https = httpx.request(
        method,
        server.url + path,
        headers={**headers, **_client(), "X-Forwarded-Proto": "https"},
    )
    assert https.headers["strict-transport-security"].startswith("max-age=")


def test_the_page_scripts_carry_a_fresh_nonce(http: httpx.Client) -> None:
    pages = [http.get("/", headers=_client()) for _ in range(2)]
    nonces = []
    for page in pages:
        script = next(
            d for d in page.headers["content-security-policy"].split("; ")
            if d.startswith("script-src")
        )  # fmt: skip
        nonce = script.split("'nonce-")[1].rstrip("'")
        assert page.text.count("<script") == page.text.count(f'<script nonce="{nonce}"')
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_the_server_logged_no_traceback(server: Deployment, http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    log = server.server.log.read_text()
    assert "refused" in log  # the refusals above were logged, one line each
    assert "Traceback" not in log
