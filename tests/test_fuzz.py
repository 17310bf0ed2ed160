"""Property-based fuzzing of the HTTP API, the CLI and the rate limiter's buckets.

The API is fuzzed over real HTTP against one real server (module-scoped): whatever arrives,
the answer is a 200 with a result or a 4xx with a JSON ``detail``, never a 5xx and never a
hang; after each batch a normal question is still answered correctly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.cli import main as cli_main
from assistant.service import AssistantService, QuestionError
from tests.web_support import Deployment, deployed
from ui.web import TokenBuckets

WANNACRY = "Wat veroordeelt de EU met klem?"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
CHEAP = settings(FUZZ, max_examples=30)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # what the service refuses
tried: dict[str, int] = {}  # inputs sent per test, for the report


# -- strategies -------------------------------------------------------------------------
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)
CONTROLS = st.characters(codec="utf-8", categories=["Cc"]).filter(lambda c: c not in "\t\n\r")
WHITESPACE = st.text(st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2028\u3000"), max_size=50)
QUESTIONS = st.one_of(
    st.text(max_size=300),
    WHITESPACE,
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=40), CONTROLS, st.text(max_size=40)),
    st.text(min_size=1990, max_size=2100),
)
TURNS = st.one_of(
    JSON,
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant"]), "content": st.text(max_size=50)}
        ),
        max_size=20,
    ),
    st.integers(150, 3000).map(lambda n: [{"role": "user", "content": "x"}] * n),
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries({"question": JSON}),
    st.fixed_dictionaries({"question": QUESTIONS, "history": TURNS}),
    st.fixed_dictionaries(
        {"question": st.just(WANNACRY)},
        optional={"history": TURNS, "extra": JSON, "token": st.text(max_size=5)},
    ),
)


def _nested(depth: int, opener: bytes, closer: bytes) -> bytes:
    return b'{"question": ' + opener * depth + b'"x"' + closer * depth + b"}"


RAW = st.one_of(
    st.binary(max_size=2000),
    st.binary(min_size=1, max_size=40).map(lambda b: b'{"question": "' + b + b'"}'),
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]).map(
        lambda b: b'{"question": "Wat ' + b + b' veroordeelt"}'
    ),
    st.integers(10, 200_000).map(lambda n: _nested(n, b"[", b"]")),
    st.integers(10, 50_000).map(lambda n: _nested(n, b'{"a":', b"}")),
    st.sampled_from([b"", b"null", b"{", b'{"question": "\\ud800"}', b'{"question": 1e999}']),
    st.integers(4300, 60_000).map(lambda n: b'{"question": ' + b"9" * n + b"}"),
)


# -- the server -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    logs = tmp_path_factory.mktemp("fuzz-logs")
    env = {"ASSISTANT_WEB_RATE_LIMIT_PER_MINUTE": "0"}  # thousands of requests from one client
    with deployed(tmp_path_factory.mktemp("fuzz-index"), logs, env=env) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def api(server: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:  # a hang fails the test
        yield client


def _refused_cleanly(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert detail


def _answered_or_refused(response: httpx.Response) -> None:
    if response.status_code == 200:
        assert {"answer", "citations", "abstained"} <= set(response.json())
    else:
        _refused_cleanly(response)


def _still_answers(api: httpx.Client) -> None:
    result = api.post("/api/ask", json={"question": WANNACRY}).json()
    assert "[§4]" in result["answer"]
    assert result["ranked"][0]["paragraph"] == 4


def _count(name: str) -> None:
    tried[name] = tried.get(name, 0) + 1


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
@pytest.mark.usefixtures("server")
def test_any_json_body_is_answered_or_refused_cleanly(api: httpx.Client, path: str) -> None:
    @FUZZ
    @given(body=BODIES)
    def check(body: Any) -> None:
        _count(f"json {path}")
        response = api.post(path, json=body)
        if path.endswith("stream") and response.status_code == 200:
            assert response.text.rstrip().split("\n")[-2] == "event: result"
            return
        _answered_or_refused(response)
        if isinstance(body, dict) and set(body) - {"question", "history"}:
            _refused_cleanly(response)  # unknown fields are refused, never ignored

    check()
    _still_answers(api)


@pytest.mark.server
@pytest.mark.slow
def test_any_question_text_is_answered_or_refused_cleanly(api: httpx.Client) -> None:
    @FUZZ
    @given(question=QUESTIONS)
    def check(question: str) -> None:
        _count("question")
        response = api.post("/api/ask", json={"question": question})
        stripped = question.strip()
        wordless = not any(char.isalnum() for char in stripped)  # punctuation, emoji
        if wordless or CONTROL.search(question) or len(stripped) > 2000:
            _refused_cleanly(response)
        else:
            assert response.status_code == 200, response.text[:300]
            assert response.json()["question"] == stripped

    check()
    _still_answers(api)


@pytest.mark.server
@pytest.mark.slow
def test_any_raw_body_is_answered_or_refused_cleanly(api: httpx.Client) -> None:
    @FUZZ
    @given(body=RAW, content_type=st.sampled_from(["application/json", "text/plain", ""]))
    def check(body: bytes, content_type: str) -> None:
        _count("raw body")
        headers = {"content-type": content_type} if content_type else {}
        # Some are well-formed by chance, such as '{"question": "Wat"}'.
        _answered_or_refused(api.post("/api/ask", content=body, headers=headers))

    check()
    _still_answers(api)


@pytest.mark.server
@pytest.mark.slow
def test_any_query_or_path_is_answered_or_refused_cleanly(api: httpx.Client) -> None:
    @CHEAP
    @given(text=st.text(max_size=100))
    def check(text: str) -> None:
        _count("query and path")
        with api.stream("GET", "/api/ask/stream", params={"question": text}) as stream:
            if stream.status_code != 200:
                stream.read()
                _refused_cleanly(stream)
        assert api.get("/api/paragraphs/" + quote(text, safe="")).status_code < 500

    check()
    _still_answers(api)


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        b"x" * 1_000_000,
        json.dumps({"question": "a" * 1_000_000}).encode(),
        json.dumps(
            {"question": WANNACRY, "history": [{"role": "user", "content": "x" * 9000}] * 100}
        ),
    ],
    ids=["garbage", "question", "history"],
)
def test_a_one_megabyte_body_is_413(api: httpx.Client, body: bytes | str) -> None:
    _count("1 MB body")
    response = api.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the limit of 524288 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        data = body.encode() if isinstance(body, str) else body
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    streamed = api.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    _still_answers(api)


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"question": "Wat \xff veroordeelt"}', "not UTF-8"),
        (_nested(100_000, b"[", b"]"), "nested too deeply"),
        (b'{"question": ' + b"9" * 5000 + b"}", "number too long"),
        (b'{"question": "Wat \\ud800 veroordeelt"}', "lone surrogate"),
        (b'{"question": "ok", "history": [{"role": "user", "content": "\\udc00"}]}', "history"),
    ],
    ids=["utf8", "nesting", "digits", "surrogate", "surrogate-history"],
)
def test_unreadable_bodies_say_why(api: httpx.Client, body: bytes, message: str) -> None:
    response = api.post("/api/ask", content=body, headers={"content-type": "application/json"})
    _refused_cleanly(response)
    assert message in response.json()["detail"]


SESSIONS = st.one_of(st.text(max_size=80), st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True))


@pytest.mark.server
@pytest.mark.slow
def test_gradio_routes_answer_anything_with_a_run_or_a_short_4xx(api: httpx.Client) -> None:
    # Like the API above, Gradio's routes the page uses (the rest are closed: 404): calls in
    # the page's shape with any inputs, any JSON, any session, any path under Gradio's prefix.
    events = [(d["id"], len(d["inputs"])) for d in api.get("/config").json()["dependencies"]]
    calls = st.one_of(
        JSON,
        st.builds(
            lambda event, data, session: {"data": data[: event[1]], "fn_index": event[0],
                                          "session_hash": session},
            st.sampled_from(events),
            st.lists(JSON, min_size=4, max_size=4) | st.just(["x", [], None, None]),
            SESSIONS,
        ),
    )  # fmt: skip

    def short_refusal(response: httpx.Response) -> None:
        _refused_cleanly(response)
        assert len(response.content) < 2000

    @CHEAP
    @given(body=calls, session=SESSIONS, path=st.text(max_size=40))
    def check(body: Any, session: str, path: str) -> None:
        _count("gradio routes")
        joined = api.post("/gradio_api/queue/join", json=body)
        if joined.status_code != 200:
            short_refusal(joined)
        else:  # a run: its stream ends (a hang fails the test, the client has a timeout)
            params = {"session_hash": body["session_hash"]}
            with api.stream("GET", "/gradio_api/queue/data", params=params) as stream:
                assert stream.status_code == 200
                for line in stream.iter_lines():  # it ends, or a read times out and fails
                    if re.search(r'"msg": ?"(process_completed|close_stream)"', line):
                        break
        # A session that joined earlier streams on (heartbeats): only its status is read.
        with api.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as data:
            if data.status_code != 200:
                data.read()
                short_refusal(data)
        with api.stream("GET", "/gradio_api/heartbeat/" + quote(session, safe="")) as beat:
            assert beat.status_code < 500
        other = api.post("/gradio_api/" + quote(path, safe="/"), content=b"{}")
        assert other.status_code < 500

    check()
    _still_answers(api)


@pytest.mark.server
@pytest.mark.slow
def test_the_server_logged_no_server_error(server: Deployment, api: httpx.Client) -> None:
    _still_answers(api)
    log = server.server.log.read_text()
    assert " 200 " in log  # access lines are there, so the next assertions can fail
    assert not re.search(r"assistant\.access \[[^\]]+\] \S+ \S+ 5\d\d ", log)
    assert "Traceback" not in log
    print(f"fuzz inputs sent: {tried}")


# -- the CLI ----------------------------------------------------------------------------
@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, service: AssistantService, service_dir: Path) -> None:
    """The CLI on the session's built index (``service`` builds it)."""
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(service_dir))


def _exit_code(argv: list[str]) -> int:
    try:
        return cli_main(argv)
    except SystemExit as exit_:  # argparse's own usage errors and --help
        return exit_.code if isinstance(exit_.code, int) else 2


@pytest.mark.slow
@pytest.mark.usefixtures("cli_env")
def test_cli_show_any_number_exits_0_1_or_2(capsys: pytest.CaptureFixture[str]) -> None:
    @FUZZ
    @given(number=st.one_of(st.integers(-(10**9), 10**9).map(str), st.text(max_size=30)))
    def check(number: str) -> None:
        _count("cli show")
        code = _exit_code(["show", number, "--json"])
        out = capsys.readouterr().out
        assert code in (0, 1, 2)
        if code == 0:
            assert json.loads(out)["number"] in range(8)

    check()


@pytest.mark.slow
@pytest.mark.usefixtures("cli_env")
def test_cli_ask_any_text_exits_0_1_or_2(capsys: pytest.CaptureFixture[str]) -> None:
    @settings(FUZZ, max_examples=40)
    @given(question=QUESTIONS, as_json=st.booleans())
    def check(question: str, as_json: bool) -> None:
        _count("cli ask")
        code = _exit_code(["ask", question, *(["--json"] if as_json else [])])
        out = capsys.readouterr().out
        assert code in (0, 1, 2)
        if code == 0 and as_json:
            assert json.loads(out)["question"] == question.strip()

    check()
    assert _exit_code(["ask", WANNACRY]) == 0
    assert "[§4]" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.usefixtures("cli_env")
def test_cli_ask_with_undecodable_argv_bytes_exits_2() -> None:
    # What Python makes of `assistant ask $'Wat \xff veroordeelt'`: a lone surrogate.
    assert _exit_code(["ask", b"Wat \xff veroordeelt".decode("utf-8", "surrogateescape")]) == 2


@pytest.mark.slow
def test_validate_returns_clean_text_or_raises_question_error(service: AssistantService) -> None:
    @settings(FUZZ, max_examples=300)
    @given(question=QUESTIONS)
    def check(question: str) -> None:
        try:
            valid = service.validate(question)
        except QuestionError as error:
            message = str(error)
            assert message
            return
        assert valid == question.strip()
        assert valid
        assert not CONTROL.search(valid)
        assert len(valid) <= service.settings.max_question_chars

    check()


# -- the rate limiter's buckets ---------------------------------------------------------
@given(
    capacity=st.integers(1, 50),
    per_minute=st.integers(1, 600),
    gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=200),
)
@settings(FUZZ, max_examples=200)
def test_buckets_grant_no_more_than_capacity_plus_refill(
    capacity: int, per_minute: int, gaps: list[float]
) -> None:
    now = [0.0]
    buckets = TokenBuckets(capacity, per_minute / 60, clock=lambda: now[0])
    granted = 0
    for gap in gaps:
        now[0] += gap
        wait = buckets.take("client")
        if wait == 0:
            granted += 1
        else:
            assert 0 < wait <= 60 / per_minute + 1e-9
    assert granted <= capacity + now[0] * per_minute / 60 + 1e-6
    if sum(gaps[1:]) == 0:  # all at once: exactly the capacity gets through
        assert granted == min(capacity, len(gaps))
