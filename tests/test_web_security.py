"""Hostile requests against the deployment an intranet would run: access control on, behind a
path prefix. Every route refuses without credentials, secrets stay secret (even with questions
logged), each client has its own rate limit, and no route serves a file from outside the app's
own assets."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web_support import REPO, Deployment, app_requests, deployed

pytestmark = [pytest.mark.server, pytest.mark.slow]

WANNACRY = "Wat veroordeelt de EU met klem?"
TOKEN = "s3cret-token-abcdefghij"  # no digits: the question below carries it reversed
USER, PASSWORD = "reader", "pa:ss-0123456789abcdef"
ENV = {
    "ASSISTANT_WEB_AUTH_TOKEN": TOKEN,
    "ASSISTANT_WEB_BASIC_USER": USER,
    "ASSISTANT_WEB_BASIC_PASSWORD": PASSWORD,
    "ASSISTANT_WEB_FRAME_ANCESTORS": "https://intranet.example.org",
    "ASSISTANT_WEB_CORS_ORIGINS": "https://intranet.example.org, https://apps.example.org",
    # Behind the (test) reverse proxy: clients told apart by X-Forwarded-For; JSON logs with
    # the questions in them, the setting under which a leaked secret would be likeliest.
    "ASSISTANT_WEB_TRUST_PROXY": "true",
    "ASSISTANT_WEB_LOG_JSON": "true",
    "ASSISTANT_WEB_LOG_QUESTIONS": "true",
}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    base = tmp_path_factory.getbasetemp()
    with deployed(base / "web-index", base, prefix="/assistant", env=ENV) as deployment:
        yield deployment


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


BEARER = {"Authorization": f"Bearer {TOKEN}"}

# -- access control ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/paragraphs",
        "/config",
        "/gradio_api/info",
        "/api/openapi.json",
        "/api/answers/" + "a" * 32,
        "/api/answers/" + "a" * 32 + "/feedback",
    ],
)
def test_guarded_refuses_without_credentials(guarded: Deployment, path: str) -> None:
    method = "POST" if path.endswith("/feedback") else "GET"
    response = httpx.request(method, guarded.url + path, json={"rating": "up"})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("authentication required")
    assert response.headers["www-authenticate"].startswith("Basic")
    wrong = httpx.request(
        method, guarded.url + path, headers={"Authorization": "Bearer nope"}, json={"rating": "up"}
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [BEARER, _basic(USER, PASSWORD)],
    ids=["bearer", "basic"],
)
def test_guarded_accepts_token_or_basic_behind_the_prefix(
    guarded: Deployment, headers: dict[str, str]
) -> None:
    answer = httpx.post(
        guarded.url + "/api/ask", json={"question": WANNACRY}, headers=headers, timeout=60
    )
    assert answer.status_code == 200
    assert "[§4]" in answer.json()["answer"]
    page = httpx.get(guarded.url + "/", headers=headers)
    assert page.status_code == 200
    assert f'"root":"{guarded.url}"' in page.text
    assert httpx.get(guarded.url + "/config", headers=headers).status_code == 200


def test_guarded_sign_in_by_link_sets_a_session_and_drops_the_token(guarded: Deployment) -> None:
    with httpx.Client(base_url=guarded.url) as client:
        first = client.get("/", params={"token": TOKEN, "lang": "nl"})
        assert first.status_code == 303
        assert first.headers["location"] == "/assistant/?lang=nl"  # under the proxy's prefix
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Path=/assistant" in cookie
        assert TOKEN not in cookie  # a signed session, not the secret
        assert client.get("/api/paragraphs/4").status_code == 200  # the cookie lets it in
    assert httpx.get(guarded.url + "/", params={"token": "wrong"}).status_code == 401


def test_guarded_healthz_stays_open_for_probes(guarded: Deployment) -> None:
    assert httpx.get(guarded.url + "/healthz").json()["status"] == "ready"


def test_guarded_embedding_and_cors_headers(guarded: Deployment) -> None:
    origin = "https://intranet.example.org"
    preflight = httpx.options(
        guarded.url + "/api/ask",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    response = httpx.get(
        guarded.url + "/api/paragraphs/0",
        headers={"Origin": origin, "Authorization": f"Bearer {TOKEN}"},
    )
    assert response.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-credentials" not in response.headers  # the token, no cookie
    assert response.headers["content-security-policy"].endswith(f"frame-ancestors 'self' {origin}")
    other = httpx.get(
        guarded.url + "/api/paragraphs/0",
        headers={"Origin": "https://evil.example.com", "Authorization": f"Bearer {TOKEN}"},
    )
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers


def test_every_route_but_healthz_refuses_without_credentials(
    guarded: Deployment, tmp_path: Path
) -> None:
    requests = app_requests(tmp_path, ENV)  # every route of create_app(), Gradio's included
    assert len(requests) > 50
    assert {("POST", "/api/ask"), ("GET", "/"), ("POST", "/gradio_api/queue/join")} <= set(requests)
    let_in = []
    for method, path in requests:
        response = httpx.request(method, guarded.url + path, timeout=30)
        if path == "/healthz":
            assert response.status_code == 200
        elif response.status_code != 401:
            let_in.append(f"{method} {path}: {response.status_code}")
    assert let_in == []


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ([(b"Authorization", "Bearer tökén".encode())], {}),
        ([(b"Authorization", b"Basic " + base64.b64encode("rëader:pä:ss".encode()))], {}),
        ([(b"Authorization", b"Basic not*base64")], {}),
        ([(b"Cookie", "assistant_token=tökén".encode())], {}),
        ([], {"token": "tökén"}),
    ],
    ids=["bearer", "basic", "basic-garbled", "cookie", "query"],
)
def test_non_ascii_or_garbled_credentials_are_refused_cleanly(
    guarded: Deployment, headers: list[tuple[bytes, bytes]], params: dict[str, str]
) -> None:
    # Before the secrets were compared as bytes, each of these was a 500.
    response = httpx.get(guarded.url + "/api/paragraphs/4", headers=headers, params=params)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("authentication required")


def test_secrets_are_never_logged_nor_echoed(guarded: Deployment) -> None:
    guess = "guessed-" + TOKEN[::-1]
    with httpx.Client(base_url=guarded.url, timeout=30, follow_redirects=True) as client:
        assert client.get("/", params={"token": TOKEN}).status_code == 200
        assert client.get("/api/paragraphs/1", headers=BEARER).status_code == 200
        assert client.get("/config", headers=_basic(USER, PASSWORD)).status_code == 200
    refused = [
        httpx.get(guarded.url + "/api/paragraphs/1", params={"token": guess}),
        httpx.get(guarded.url + "/api/paragraphs/1", headers={"Authorization": f"Bearer {guess}"}),
        httpx.get(guarded.url + "/config", headers=_basic(USER, guess)),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert not any(guess in r.text or guess in str(r.headers) for r in refused)
    # A token in the address of anything but a page's GET signs nobody in, and says why.
    misplaced = httpx.post(
        guarded.url + "/api/ask", params={"token": TOKEN}, json={"question": "x"}
    )
    assert misplaced.status_code == 400
    assert "Authorization: Bearer" in misplaced.json()["detail"]
    asked = httpx.post(
        guarded.url + "/api/ask",
        json={"question": f"{WANNACRY} okapi-{TOKEN[::-1]}"},
        headers=BEARER,
        timeout=60,
    )
    assert asked.status_code == 200
    logs = guarded.server.log.read_text() + (guarded.proxy.log.read_text() if guarded.proxy else "")
    basic = _basic(USER, PASSWORD)["Authorization"].split()[1]
    for secret in (TOKEN, PASSWORD, basic, guess):
        assert secret not in logs
    # The question is logged (log_questions is on), under the request id the client got.
    access = [json.loads(line) for line in logs.splitlines() if '"assistant.access"' in line]
    line = next(a for a in access if a["request_id"] == asked.headers["x-request-id"])
    assert line["question"] == f"{WANNACRY} okapi-{TOKEN[::-1]}"
    assert (line["path"], line["status"], line["cited"]) == ("/api/ask", 200, [4])


# -- rate limit -------------------------------------------------------------------------


def test_rate_limit_is_per_client_with_retry_after(guarded: Deployment) -> None:
    # 120 a minute per client (the default); the proxy is trusted, so X-Forwarded-For names
    # the client. A burst of 140 from one client: the first 120 pass, then 429s.
    one, other = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.2, 10.0.0.1"}
    with httpx.Client(base_url=guarded.url, headers=BEARER, timeout=30) as client:
        burst = [client.get("/api/paragraphs/1", headers=one) for _ in range(140)]
        assert client.get("/api/paragraphs/1", headers=other).status_code == 200
        assert client.get("/api/paragraphs/1").status_code == 200  # the proxy itself
        assert client.get("/", headers=one).status_code == 200  # the page is not limited
    statuses = [response.status_code for response in burst]
    assert statuses[:120] == [200] * 120
    # The first refused one (a token comes back every 0.5 s, so a later one may pass).
    limited = next((r for r in burst[120:] if r.status_code == 429), None)
    assert limited is not None, statuses[120:]
    assert limited.json()["detail"].startswith("too many requests: the limit is 120 a minute")
    assert limited.headers["retry-after"] == "1"  # one token comes back every 0.5 s
    assert limited.headers["x-request-id"]


# -- path traversal --------------------------------------------------------------------


def _raw_get(url: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET ``path`` byte for byte: httpx would resolve the dot segments before sending."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    try:
        connection.request("GET", where.path + path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


TRAVERSALS = [
    "/file=../../etc/passwd",
    "/file=/etc/passwd",
    "/gradio_api/file=/etc/passwd",
    "/gradio_api/file=../../../../../../etc/passwd",
    "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/gradio_api/file=%2fetc%2fpasswd",
    "/gradio_api/file=pyproject.toml",  # relative to the server's working directory, the repo
    f"/gradio_api/file={REPO}/pyproject.toml",
    "/gradio_api/file/../../pyproject.toml",
    "/gradio_api/file/%2e%2e/%2e%2e/pyproject.toml",
    "/static/../../pyproject.toml",
    "/static/..%2f..%2fpyproject.toml",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/img/../../../../../../../../etc/passwd",
    "/assets/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/svelte/..%2f..%2f..%2f..%2fpyproject.toml",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/proxy=file:///etc/passwd",
    "/gradio_api/file=file:///etc/passwd",
]
LEAKS = (b"root:", b"[project]", b"SQLite format", b"WannaCry")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_route_serves_a_file_outside_the_app_assets(guarded: Deployment, path: str) -> None:
    # Straight to the server (the test proxy would tidy the path), with valid credentials,
    # so the request reaches the file routes.
    status, body = _raw_get(guarded.server.url, path, BEARER)
    assert 400 <= status < 500
    assert status != 401
    assert not any(leak in body for leak in LEAKS)


def test_no_route_serves_the_index_or_fetches_from_the_machine(
    guarded: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    index = tmp_path_factory.getbasetemp() / "web-index"
    stores = sorted(p for p in index.rglob("*") if p.is_file())
    assert stores  # the index the server answers from
    own_api = f"{guarded.server.url}/api/paragraphs/4"
    for path in [*(f"/gradio_api/file={p}" for p in stores[:5]), f"/gradio_api/file={own_api}"]:
        status, body = _raw_get(guarded.server.url, path, BEARER)
        assert status in (403, 404), path  # the file route is closed; URLs refused before it
        assert not any(leak in body for leak in LEAKS)


def test_the_app_assets_themselves_are_served(guarded: Deployment) -> None:
    # The control for the two tests above: the same requests reach the file routes.
    status, body = _raw_get(guarded.server.url, "/static/img/logo.svg", BEARER)
    assert status == 200
    assert body.startswith(b"<svg")


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=https://example.invalid/x.png",
        "/gradio_api/file=http%3A%2F%2Fexample.invalid%2Fx",
        "/file=HTTPS://example.invalid/x",
        "/gradio_api/proxy=https://example.invalid/",
    ],
)
def test_file_routes_do_not_fetch_urls(guarded: Deployment, path: str) -> None:
    # A .invalid host never resolves: even a regression would send nothing anywhere.
    status, body = _raw_get(guarded.server.url, path, BEARER)
    assert status == 403
    assert b"own files only" in body


def test_local_files_only_lets_ordinary_paths_through() -> None:
    import asyncio
    from typing import Any

    from starlette.responses import PlainTextResponse

    from ui.web import LocalFilesOnly

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("ok")(scope, receive, send)

    app = LocalFilesOnly(inner)

    async def get(path: str) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get(path)).status_code

    assert asyncio.run(get("/gradio_api/file=/tmp/gradio/abc/image.png")) == 200
    assert asyncio.run(get("/static/img/logo.svg")) == 200
    assert asyncio.run(get("/gradio_api/file=ftp://example.invalid/x")) == 403
