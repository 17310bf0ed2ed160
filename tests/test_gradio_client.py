"""The Gradio app through ``gradio_client``, against a server started by ``assistant serve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web_support import Deployment, deployed

pytestmark = [pytest.mark.server, pytest.mark.slow]

WANNACRY = "Wat veroordeelt de EU met klem?"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # Started the way a user does: `assistant serve --port P` (ASSISTANT_DATA_DIR on tmp).
    base = tmp_path_factory.getbasetemp()
    with deployed(base / "web-index", base, launcher="cli") as running:
        yield running


@pytest.fixture(scope="module")
def client(deployment: Deployment) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")  # or the client looks the URL up on the Hub
        from gradio_client import Client

        yield Client(deployment.url, verbose=False)


def test_assistant_serve_prints_its_url_and_becomes_healthy(deployment: Deployment) -> None:
    assert cast("list[str]", deployment.server.process.args)[1:4] == [
        "-m",
        "assistant.cli",
        "serve",
    ]
    port = urlsplit(deployment.url).port
    printed = deployment.server.log.read_text()
    assert f"Serving the assistant on http://localhost:{port}/" in printed
    assert deployment.server.statuses[-1] == 200
    assert httpx.get(f"http://localhost:{port}/healthz").json()["status"] == "ready"


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _ask(client: Any, question: str, chat: list[dict[str, Any]]) -> tuple[list[Any], Any]:
    cleared, chat, details, conversation = client.predict(question, chat, api_name="/ask")
    assert cleared == ""
    assert details["id"] in conversation  # the conversation's download holds it
    return chat, details


def test_question_gets_a_cited_answer_then_a_follow_up_uses_the_history(client: Any) -> None:
    client.predict(api_name="/clear")
    chat, details = _ask(client, WANNACRY, [])
    assert [m["role"] for m in chat] == ["user", "assistant"]
    answer = _text(chat[-1])
    assert 'class="cite-chip" href="#cite=4:' in answer
    assert 4 in [c["paragraph"] for c in details["citations"]]

    chat, details = _ask(client, "Waarom destabiliseren die incidenten?", chat)
    assert len(chat) == 4
    assert WANNACRY in details["search_query"]  # the earlier turn shaped the search
    assert 4 in [c["paragraph"] for c in details["citations"]]


def test_off_topic_question_shows_an_abstention(client: Any) -> None:
    client.predict(api_name="/clear")
    chat, details = _ask(client, "Wat is de hoofdstad van Frankrijk?", [])
    assert details["abstained"] is True
    answer = _text(chat[-1])
    assert 'class="abstention"' in answer
    assert "cite-chip" in answer  # the nearest paragraphs are offered


def test_markup_in_a_question_is_escaped(client: Any) -> None:
    client.predict(api_name="/clear")
    chat, _ = _ask(client, "<script>alert(1)</script> Wat veroordeelt de EU?", [])
    shown = _text(chat[0])
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_show_paragraph_highlights_the_cited_span(client: Any) -> None:
    html = client.predict("4:0-50", api_name="/show_paragraph")
    assert 'class="paragraph-view paragraph-4 text-original"' in html
    assert html.count('<mark class="cited"') == 1
    with pytest.raises(Exception, match="no paragraph 99"):
        client.predict("99:", api_name="/show_paragraph")
