"""Load: 16 concurrent clients for a bounded time, through the API and the Gradio queue.

Asserts behaviour, not speed: zero errors (a 429 counts: the server runs without a rate
limit), every client gets its own answers (each checks the citations of the question it
asked, and a chat session that its chat shows its own question), and the server's memory
does not keep growing. The figures (questions/s, p95, RSS) are printed and written to
``artifacts/load-api.json`` and ``artifacts/load-gradio.json`` for the README.
"""

from __future__ import annotations

import html
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web_support import REPO, Deployment, deployed

pytestmark = [pytest.mark.server, pytest.mark.slow]

CLIENTS = 16
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
RSS_GROWTH_LIMIT_MB = 300.0
ABSTAINS = -1
# question -> the paragraph it must cite first (ABSTAINS: an abstention without citations)
QUESTIONS = {
    "Wat veroordeelt de EU met klem?": 4,
    "Waartoe verklaart de EU zich bereid?": 7,
    "What does the EU condemn?": 4,
    "Wat is de hoofdstad van Frankrijk?": ABSTAINS,
}


@dataclass
class ClientRun:
    """What one client saw."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _wrong_result(question: str, result: dict[str, Any]) -> str | None:
    """Why this result is not the answer to this question, or None."""
    if result.get("question") != question:
        return f"asked {question!r}, got the answer to {result.get('question')!r}"
    cited = [c["paragraph"] for c in result["citations"]]
    expected = QUESTIONS[question]
    if expected == ABSTAINS:
        return None if result["abstained"] and not cited else f"{question!r} did not abstain"
    if result["abstained"] or not cited or cited[0] != expected:
        return f"{question!r}: expected [§{expected}] first, got {cited}"
    return None


def _check(question: str, response: httpx.Response) -> str | None:
    """Why this API answer is wrong for this question, or None."""
    if response.status_code != 200:
        return f"{response.status_code}: {response.text[:200]}"
    result = response.json()
    if (wrong := _wrong_result(question, result)) is not None:
        return wrong
    expected = QUESTIONS[question]
    if expected != ABSTAINS and f"[§{expected}]" not in result["answer"]:
        return f"{question!r}: no [§{expected}] in the answer"
    return None


def _api_client(url: str, index: int, until: float, run: ClientRun) -> None:
    questions = list(QUESTIONS)
    with httpx.Client(base_url=url, timeout=60) as client:
        turn = index  # each client starts elsewhere in the list, so the mix stays even
        while time.monotonic() < until:
            question = questions[turn % len(questions)]
            turn += 1
            started = time.perf_counter()
            try:
                response = client.post("/api/ask", json={"question": question})
            except httpx.HTTPError as error:
                run.errors.append(f"{type(error).__name__}: {error}")
                continue
            run.latencies.append(time.perf_counter() - started)
            if (problem := _check(question, response)) is not None:
                run.errors.append(problem)


def _check_chat(question: str, chat: list[dict[str, Any]], details: dict[str, Any]) -> str | None:
    """Why this chat turn is wrong for this question, or None."""
    shown = [str(message["content"]) for message in chat]
    if len(shown) != 2 or html.escape(question, quote=False) not in shown[0]:
        return f"asked {question!r} in a cleared chat, the chat shows {shown[:1]!r}"
    if (wrong := _wrong_result(question, details)) is not None:
        return wrong
    expected = QUESTIONS[question]
    if expected == ABSTAINS:
        return None if 'class="abstention"' in shown[1] else "the abstention is not shown as one"
    if f'href="#cite={expected}:' not in shown[1]:
        return f"{question!r}: no [§{expected}] chip in the answer"
    return None


def _gradio_client(url: str, index: int, until: float, run: ClientRun) -> None:
    """A browser tab's worth of traffic: its own session on the Gradio queue."""
    from gradio_client import Client

    questions = list(QUESTIONS)
    client = Client(url, verbose=False)
    try:
        turn = index
        while time.monotonic() < until:
            question = questions[turn % len(questions)]
            turn += 1
            started = time.perf_counter()
            try:
                client.predict(api_name="/clear")  # one question per conversation
                _, chat, details, _ = client.predict(question, [], api_name="/ask")
            except Exception as error:  # gradio_client raises its own and httpx's errors
                run.errors.append(f"{type(error).__name__}: {error}")
                continue
            run.latencies.append(time.perf_counter() - started)
            if (problem := _check_chat(question, chat, details)) is not None:
                run.errors.append(problem)
    finally:
        client.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = {"ASSISTANT_WEB_RATE_LIMIT_PER_MINUTE": "0"}  # 16 clients from one address
    logs = tmp_path_factory.mktemp("load-logs")
    with deployed(tmp_path_factory.mktemp("load-index"), logs, env=env) as deployment:
        yield deployment


def _load(
    server: Deployment, client: Callable[[str, int, float, ClientRun], None], name: str
) -> dict[str, Any]:
    """CLIENTS threads running ``client`` for SECONDS; the figures, also in artifacts/."""
    pid = server.server.process.pid
    rss_start = _rss_mb(pid)
    runs = [ClientRun() for _ in range(CLIENTS)]
    started = time.monotonic()
    threads = [
        threading.Thread(target=client, args=(server.url, i, started + SECONDS, run))
        for i, run in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    latencies = sorted(x for run in runs for x in run.latencies)
    errors = [e for run in runs for e in run.errors]
    figures = {
        "through": name,
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "answered": len(latencies),
        "errors": len(errors),
        "questions_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1)
        if latencies
        else None,
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(_rss_mb(pid), 1),
        "questions": {q: ("abstains" if p == ABSTAINS else p) for q, p in QUESTIONS.items()},
        "error_samples": errors[:10],
        "clients_without_answers": sum(not run.latencies for run in runs),
    }
    artifacts = REPO / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"load-{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def _assert_held(figures: dict[str, Any]) -> None:
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["clients_without_answers"] == 0, "a client got no answer at all"
    assert figures["answered"] >= CLIENTS
    assert figures["rss_end_mb"] - figures["rss_start_mb"] < RSS_GROWTH_LIMIT_MB


def test_sixteen_api_clients_get_their_own_answers_without_errors(
    server: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as warm:  # each question once
        for question in QUESTIONS:
            assert _check(question, warm.post("/api/ask", json={"question": question})) is None
    figures = _load(server, _api_client, "api")
    with capsys.disabled():  # shown in CI's output, passing or not
        print(f"\nload: {json.dumps(figures)}")
    _assert_held(figures)


def test_sixteen_chat_sessions_on_the_gradio_queue_get_their_own_answers(
    server: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # or gradio_client looks the URL up on the Hub
    figures = _load(server, _gradio_client, "gradio")
    with capsys.disabled():
        print(f"\nload: {json.dumps(figures)}")
    _assert_held(figures)


def test_the_server_stops_cleanly_and_closes_the_assistant(
    server: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After the load: SIGTERM, as a container runtime sends it, with a chat session still
    # open (its heartbeat stream, as an open tab holds one). The open streams end at once
    # instead of being cancelled after the graceful timeout; the lifespan closes the
    # service (the Chroma client) and says so in the log.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from gradio_client import Client

    open_tab = Client(server.url, verbose=False)
    open_tab.predict(api_name="/clear")
    try:
        server.server.stop()
    finally:
        open_tab.close()
    # uvicorn re-raises the SIGTERM once its graceful shutdown is done
    assert server.server.process.returncode in (0, -15)
    log = server.server.log.read_text()
    assert "assistant ready: built in" in log
    assert "assistant closed" in log
    assert "graceful shutdown exceeded" not in log
    assert "Traceback" not in log
