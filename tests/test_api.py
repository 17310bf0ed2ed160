"""The HTTP API over real HTTP: a real server process, the real model and Chroma index."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web_support import Deployment, Probe, deployed, sse_events

pytestmark = [pytest.mark.server, pytest.mark.slow]

WANNACRY = "Wat veroordeelt de EU met klem?"
OFF_TOPIC = "Wat is de hoofdstad van Frankrijk?"
WHILE_LOADING: list[Probe] = [
    ("POST", "/api/ask", {"question": WANNACRY}),
    ("GET", "/api/paragraphs", None),
    ("GET", "/api/paragraphs/4", None),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # A fresh data dir, and the assistant held back from loading until the probes are sent:
    # /healthz and the API must say 503 first.
    logs = tmp_path_factory.mktemp("api-logs")
    index = tmp_path_factory.mktemp("api-index")
    env = {"ASSISTANT_AUDIT": "true"}
    with deployed(index, logs, env=env, probes_while_loading=WHILE_LOADING) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def api(server: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_healthz_says_503_with_json_until_ready(server: Deployment, api: httpx.Client) -> None:
    assert server.server.statuses[0] == 503
    assert server.server.statuses[-1] == 200
    assert api.get("/healthz").json() == {"status": "ready", "paragraphs": 8}


@pytest.mark.parametrize("index", range(len(WHILE_LOADING)), ids=[p for _, p, _ in WHILE_LOADING])
def test_api_says_503_with_json_while_loading_then_answers(
    server: Deployment, api: httpx.Client, index: int
) -> None:
    loading = server.while_loading[index]
    assert loading.status_code == 503
    assert loading.headers["content-type"] == "application/json"
    assert loading.headers["retry-after"] == "5"
    assert "still loading" in loading.json()["detail"]
    method, path, body = WHILE_LOADING[index]
    assert api.request(method, path, json=body).status_code == 200


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


def _streamed_result(events: list[tuple[str, str]], min_tokens: int) -> dict[str, Any]:
    """Check the event order (status, tokens, result) and that the tokens join to the
    answer; return the result."""
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status"
    assert kinds[-1] == "result"
    assert kinds.count("token") >= min_tokens
    streamed = "".join(json.loads(data)["text"] for kind, data in events if kind == "token")
    result: dict[str, Any] = json.loads(events[-1][1])
    assert streamed == result["answer"]
    return result


def test_stream_sends_tokens_then_the_result(api: httpx.Client) -> None:
    with api.stream("POST", "/api/ask/stream", json={"question": WANNACRY}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response.iter_lines()))
    result = _streamed_result(events, min_tokens=6)
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


def test_a_paragraph_in_a_language_version(api: httpx.Client) -> None:
    english = api.get("/api/paragraphs/4", params={"lang": "en"}).json()
    assert english["language"] == "en"
    assert english["status"] == "unofficial translation"
    assert english["label"] == "unofficial translation"
    assert english["original_language"] == "nl"
    assert english["aligned"] is True
    assert english["text"].startswith("The EU firmly condemns")
    first = english["sentences"][0]
    assert english["text"][first["start"] : first["end"]] == first["text"]
    assert api.get("/api/paragraphs/4", params={"lang": "nl"}).json()["text"].startswith("De EU")
    absent = api.get("/api/paragraphs/4", params={"lang": "es"})
    assert absent.status_code == 404
    assert "the versions: en, fr, de" in absent.json()["detail"]
    assert api.get("/api/paragraphs/9", params={"lang": "en"}).status_code == 404
    assert api.get("/api/paragraphs/4", params={"lang": "<b>en"}).status_code == 422


def test_an_english_answer_over_the_api_quotes_the_english_version(api: httpx.Client) -> None:
    result = api.post("/api/ask", json={"question": "Which attacks does the EU condemn?"}).json()
    assert result["quote_language"] == "en"
    [citation] = result["citations"]
    assert citation["paragraph"] == 4
    assert "WannaCry and NotPetya" in citation["version"]["text"]
    assert "[§4]" in result["answer"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/api/ask", {}, 422, "body.question: Field required"),
        ("POST", "/api/ask", {"question": WANNACRY, "extra": 1}, 422, "Extra inputs"),
        ("POST", "/api/ask", {"question": 42}, 422, "body.question"),
        ("POST", "/api/ask", {"question": "   "}, 422, "the question is empty"),
        ("POST", "/api/ask", {"question": " ?! "}, 422, "the question has no words"),
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
    assert page.headers["content-security-policy"].endswith("; frame-ancestors 'self'")
    assert "x-frame-options" not in page.headers
    assert 'href="/manifest.json"' not in page.text  # would leave a path prefix
    assert "access-control-allow-origin" not in api.get("/healthz").headers


# -- logs: request ids, access lines, no question text by default ----------------------
SECRET_QUESTION = "Waartoe verklaart de EU zich bereid?"  # asked nowhere else here


def test_request_id_is_echoed_or_generated(api: httpx.Client) -> None:
    given = api.get("/api/paragraphs/1", headers={"X-Request-ID": "lb-7f3a.42:9"})
    assert given.headers["x-request-id"] == "lb-7f3a.42:9"
    for bad in ("has space", "x" * 129, "<script>", ""):
        made = api.get("/api/paragraphs/1", headers={"X-Request-ID": bad})
        assert made.headers["x-request-id"] != bad
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert "x-request-id" in api.get("/healthz").headers


def _access_lines(server: Deployment, ids: dict[str, str], wait: float = 10.0) -> dict[str, str]:
    """The log line of each request id. A stream's line is written as the response ends,
    which can be just after the client has read it: wait for it (bounded)."""
    deadline = time.monotonic() + wait
    while True:
        log = server.server.log.read_text().splitlines()
        found = {
            kind: next((line for line in log if f"[{rid}]" in line), None)
            for kind, rid in ids.items()
        }
        if all(found.values()) or time.monotonic() > deadline:
            missing = [kind for kind, line in found.items() if line is None]
            assert not missing, f"no access line for {missing}"
            return {kind: str(line) for kind, line in found.items()}
        time.sleep(0.1)


def test_access_lines_carry_the_answer_but_not_the_question(
    server: Deployment, api: httpx.Client
) -> None:
    asked = api.post("/api/ask", json={"question": SECRET_QUESTION})
    refused = api.post("/api/ask", json={"question": SECRET_QUESTION + "\x00"})
    streamed = api.get("/api/ask/stream", params={"question": SECRET_QUESTION})
    assert [asked.status_code, refused.status_code, streamed.status_code] == [200, 422, 200]
    responses = {"asked": asked, "refused": refused, "streamed": streamed}
    ids = {kind: r.headers["x-request-id"] for kind, r in responses.items()}
    lines = _access_lines(server, ids)
    log = server.server.log.read_text()
    assert "INFO assistant.access" in lines["asked"]
    assert "POST /api/ask 200" in lines["asked"]
    assert "abstained=false" in lines["asked"]
    assert "cited=[7]" in lines["asked"]
    assert "duration_ms=" in lines["asked"]
    assert "POST /api/ask 422" in lines["refused"]
    assert "GET /api/ask/stream 200" in lines["streamed"]
    assert "cited=[7]" in lines["streamed"]  # noted when the stream's result was sent
    assert SECRET_QUESTION not in log  # log_questions is off by default
    assert "verklaart" not in log


def test_the_warm_up_ran_before_ready(server: Deployment) -> None:
    log = server.server.log.read_text()
    assert re.search(r"assistant ready: built in [\d.]+ s, warm-up answer in [\d.]+ s", log)


# -- with an LLM: the SSE tokens are the model's verified sentences as they come ---------
def test_stream_with_an_llm_sends_verified_tokens_as_generated(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.llm_fake import Reply, running

    logs = tmp_path_factory.mktemp("api-llm-logs")
    index = tmp_path_factory.mktemp("api-llm-index")
    answer = (
        "De EU veroordeelt met klem het kwaadwillige gebruik van ICT's, onder meer in "
        "WannaCry en NotPetya [§4]. Deze hebben aanzienlijke schade en economisch verlies "
        "berokkend in de EU en daarbuiten [§4]."
    )
    with running() as fake:
        fake.script(Reply(answer, chunk=5, pause=0.05))
        env = {"ASSISTANT_LLM_BASE_URL": fake.base_url, "ASSISTANT_LLM_MODEL": "fake-model"}
        with (
            deployed(index, logs, env=env) as deployment,
            httpx.Client(base_url=deployment.url, timeout=60) as client,
            client.stream("POST", "/api/ask/stream", json={"question": WANNACRY}) as response,
        ):
            assert response.status_code == 200
            events = list(sse_events(response.iter_lines()))
        assert fake.requests[-1].streamed
    result = _streamed_result(events, min_tokens=2)
    assert result["generated"] is True
    assert [c["paragraph"] for c in result["citations"]] == [4]
    assert "economisch verlies" in result["answer"]


# -- kept answers: export, feedback, audit -------------------------------------------------
def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_an_answer_has_an_id_and_exports_as_markdown_and_json(api: httpx.Client) -> None:
    result = api.post("/api/ask", json={"question": WANNACRY}).json()
    assert re.fullmatch(r"[0-9a-f]{32}", result["id"])
    markdown = api.get(f"/api/answers/{result['id']}", params={"format": "md"})
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "attachment" in markdown.headers["content-disposition"]
    assert markdown.text.startswith(f"# {WANNACRY}\n")
    assert "**§4**, cited:" in markdown.text
    assert "kwaadwillige cyberactiviteiten, 16 april 2018" in markdown.text
    assert "by offline" in markdown.text
    exported = api.get(f"/api/answers/{result['id']}").json()
    assert exported["result"]["citations"][0]["paragraph"] == 4
    assert exported["answerer"] == "offline"
    assert "16 april 2018" in exported["document"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"rating": "sideways"}, 422, "rating"),
        ({"rating": "up", "extra": 1}, 422, "Extra inputs"),
        ({"rating": "down", "comment": "x" * 2001}, 413, "the limit is 2000"),
    ],
)
def test_bad_feedback_gets_a_clear_error(
    api: httpx.Client, body: dict[str, Any], status: int, message: str
) -> None:
    answer_id = api.post("/api/ask", json={"question": WANNACRY}).json()["id"]
    response = api.post(f"/api/answers/{answer_id}/feedback", json=body)
    assert response.status_code == status
    assert message in json.dumps(response.json())


def test_unknown_answers_are_404_for_export_and_feedback(api: httpx.Client) -> None:
    unknown = "0" * 32
    for response in (
        api.get(f"/api/answers/{unknown}", params={"format": "md"}),
        api.post(f"/api/answers/{unknown}/feedback", json={"rating": "up"}),
    ):
        assert response.status_code == 404
        assert unknown in response.json()["detail"]
    assert api.get("/api/answers/" + "x" * 65).status_code == 422  # not an id at all


def test_feedback_is_kept_and_exported_as_candidate_gold_and_the_audit_holds_the_answer(
    server: Deployment, api: httpx.Client, tmp_path: Path
) -> None:
    answer_id = api.post("/api/ask", json={"question": WANNACRY}).json()["id"]
    kept = api.post(f"/api/answers/{answer_id}/feedback", json={"rating": "up", "comment": "ok"})
    assert kept.status_code == 201
    gold = tmp_path / "candidates.jsonl"
    exported = _cli(server.data_dir, "feedback", "export", "--gold", str(gold))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in gold.read_text("utf-8").splitlines()]
    mine = [line for line in lines if line["id"].startswith(f"feedback-{answer_id[:12]}")]
    assert mine
    assert mine[0]["question"] == WANNACRY
    assert mine[0]["paragraphs"] == [4]
    check = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--check", str(gold)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr  # a valid gold file
    audit = _cli(server.data_dir, "audit", "export", "--since", "2020-01-01")
    assert audit.returncode == 0, audit.stderr
    entries = [json.loads(line) for line in audit.stdout.splitlines()]
    entry = next(e for e in entries if e["answer_id"] == answer_id)
    assert entry["citations"] == [4]
    assert entry["request_id"]
    assert entry["question"] is None  # question logging is off
    assert all(e["answer_id"] for e in entries)
