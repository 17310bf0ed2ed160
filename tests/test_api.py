"""The HTTP API over real HTTP: a real server process, the real model and Chroma index."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from web_support import Deployment, deployed, sse_events

pytestmark = [pytest.mark.server, pytest.mark.slow]

WANNACRY = "Wat veroordeelt de EU met klem?"
OFF_TOPIC = "Wat is de hoofdstad van Frankrijk?"
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # A fresh data dir: the index is built after start-up, so /healthz must say 503 first.
    logs = tmp_path_factory.mktemp("api-logs")
    with deployed(tmp_path_factory.mktemp("api-index"), logs) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def api(server: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_healthz_says_503_with_json_until_ready(server: Deployment, api: httpx.Client) -> None:
    assert server.server.statuses[0] == 503
    assert server.server.statuses[-1] == 200
    assert api.get("/healthz").json() == {"status": "ready", "paragraphs": 8}


def test_ask_cites_paragraph_4_with_sentence_offsets(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"question": WANNACRY})
    assert response.status_code == 200
    result = response.json()
    assert not result["abstained"]
    assert "[§4]" in result["answer"]
    cited = {c["paragraph"]: c for c in result["citations"]}
    assert 4 in cited
    for sentence in cited[4]["sentences"]:
        assert cited[4]["text"][sentence["start"] : sentence["end"]] == sentence["text"]
    assert "WannaCry" in " ".join(s["text"] for s in cited[4]["sentences"])
    assert result["language"] == "nl"
    assert result["ranked"][0]["paragraph"] in cited


def test_off_topic_question_abstains_with_suggestions(api: httpx.Client) -> None:
    result = api.post("/api/ask", json={"question": OFF_TOPIC}).json()
    assert result["abstained"]
    assert result["citations"] == []
    assert result["suggestions"]


def test_follow_up_searches_with_the_history(api: httpx.Client) -> None:
    history = [
        {"role": "user", "content": WANNACRY},
        {"role": "assistant", "content": "De EU veroordeelt ... [§4]"},
    ]
    body = {"question": "Waarom destabiliseren die incidenten?", "history": history}
    result = api.post("/api/ask", json=body).json()
    assert WANNACRY in result["search_query"]
    assert 4 in [c["paragraph"] for c in result["citations"]]


def test_stream_sends_tokens_then_the_result(api: httpx.Client) -> None:
    with api.stream("POST", "/api/ask/stream", json={"question": WANNACRY}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response.iter_lines()))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status"
    assert kinds[-1] == "result"
    assert kinds.count("token") > 5
    streamed = "".join(json.loads(data)["text"] for kind, data in events if kind == "token")
    result = json.loads(events[-1][1])
    assert streamed == result["answer"]
    assert 4 in [c["paragraph"] for c in result["citations"]]


def test_stream_by_get_for_event_source(api: httpx.Client) -> None:
    with api.stream("GET", "/api/ask/stream", params={"question": OFF_TOPIC}) as response:
        events = list(sse_events(response.iter_lines()))
    assert json.loads(events[-1][1])["abstained"] is True


def test_paragraphs_list_and_one(api: httpx.Client) -> None:
    paragraphs = api.get("/api/paragraphs").json()
    assert [p["number"] for p in paragraphs] == list(range(8))
    four = api.get("/api/paragraphs/4").json()
    assert four == paragraphs[4]
    assert "WannaCry" in four["text"]
    first = four["sentences"][0]
    assert four["text"][first["start"] : first["end"]] == first["text"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/api/ask", {}, 422, "body.question: Field required"),
        ("POST", "/api/ask", {"question": WANNACRY, "extra": 1}, 422, "Extra inputs"),
        ("POST", "/api/ask", {"question": 42}, 422, "body.question"),
        ("POST", "/api/ask", {"question": "   "}, 422, "the question is empty"),
        ("POST", "/api/ask", {"question": "a\x00b"}, 422, "control characters"),
        ("POST", "/api/ask", {"question": WANNACRY, "history": [{"role": "x"}]}, 422, "history"),
        ("POST", "/api/ask", {"question": "x" * 2001}, 413, "the limit is 2000"),
        ("POST", "/api/ask/stream", {"question": "x" * 2001}, 413, "the limit is 2000"),
        ("GET", "/api/paragraphs/99", None, 404, "there is no paragraph 99"),
        ("GET", "/api/paragraphs/vier", None, 422, "path.number"),
    ],
)
def test_errors_are_json_with_a_clear_message(
    api: httpx.Client, method: str, path: str, body: object, status: int, message: str
) -> None:
    response = api.request(method, path, json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["detail"]


def test_malformed_json_is_422(api: httpx.Client) -> None:
    response = api.post(
        "/api/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "invalid request" in response.json()["detail"]


def test_openapi_documents_the_api(api: httpx.Client) -> None:
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/paragraphs", "/api/paragraphs/{number}"} <= set(
        paths
    )
    assert "text/event-stream" in paths["/api/ask/stream"]["post"]["responses"]["200"]["content"]
    assert "413" in paths["/api/ask"]["post"]["responses"]


def test_page_and_headers(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert page.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert "x-frame-options" not in page.headers
    assert 'href="/manifest.json"' not in page.text  # would leave a path prefix
    assert "access-control-allow-origin" not in api.get("/healthz").headers


# -- a protected deployment behind a path prefix ----------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = {
        "ASSISTANT_WEB_AUTH_TOKEN": TOKEN,
        "ASSISTANT_WEB_BASIC_USER": "reader",
        "ASSISTANT_WEB_BASIC_PASSWORD": "pa:ss",
        "ASSISTANT_WEB_FRAME_ANCESTORS": "https://intranet.example.org",
        "ASSISTANT_WEB_CORS_ORIGINS": "https://intranet.example.org, https://apps.example.org",
    }
    base = tmp_path_factory.getbasetemp()
    with deployed(base / "web-index", base, prefix="/assistant", env=env) as deployment:
        yield deployment


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "path", ["/", "/api/paragraphs", "/config", "/gradio_api/info", "/api/openapi.json"]
)
def test_guarded_refuses_without_credentials(guarded: Deployment, path: str) -> None:
    response = httpx.get(guarded.url + path)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("authentication required")
    assert response.headers["www-authenticate"].startswith("Basic")
    wrong = httpx.get(guarded.url + path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {TOKEN}"}, _basic("reader", "pa:ss")],
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


def test_guarded_token_in_url_sets_a_cookie(guarded: Deployment) -> None:
    with httpx.Client(base_url=guarded.url) as client:
        first = client.get("/", params={"token": TOKEN})
        assert first.status_code == 200
        assert "HttpOnly" in first.headers["set-cookie"]
        assert client.get("/api/paragraphs/4").status_code == 200
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
    assert response.headers["content-security-policy"] == f"frame-ancestors 'self' {origin}"
    other = httpx.get(
        guarded.url + "/api/paragraphs/0",
        headers={"Origin": "https://evil.example.com", "Authorization": f"Bearer {TOKEN}"},
    )
    assert "access-control-allow-origin" not in other.headers
