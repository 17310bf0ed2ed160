"""The lexical index: BM25 through bm25s, kept on disk and read back by the next process."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from assistant.retrieval import LEXICAL_K, Bm25Ranker, prune_lexical
from assistant.settings import Settings
from index.document import Document, Paragraph, Sentence, load_document

QUESTIONS = [
    "Welke aanvallen veroordeelt de EU met klem?",
    "internationaal recht cyberspace",
    "Wat is de hoofdstad van Frankrijk?",  # no term in the vocabulary
    "",
]


@pytest.fixture(scope="module")
def document() -> Document:
    settings = Settings()
    return load_document(settings.document_path, settings.errata_path)


def test_a_kept_index_is_read_back_and_scores_alike(document: Document, tmp_path: Path) -> None:
    built = Bm25Ranker(document, store=tmp_path)
    kept = list(tmp_path.glob("bm25-*"))
    assert len(kept) == 1
    stamp = (kept[0] / "params.index.json").stat().st_mtime_ns
    read = Bm25Ranker(document, store=tmp_path)
    assert (kept[0] / "params.index.json").stat().st_mtime_ns == stamp  # read, not rebuilt
    alone = Bm25Ranker(document)
    for question in QUESTIONS:
        expected, known, covered = built.score(question)
        for other in (read, alone):
            scores, other_known, other_covered = other.score(question)
            assert scores == pytest.approx(expected)
            assert (other_known, other_covered) == (known, covered)
    scores, known, covered = built.score(QUESTIONS[0])
    assert max(scores, key=scores.__getitem__) == 4
    # 'aanvallen' is not a word of the text: three terms of four known, all three in §4.
    assert (known, covered) == (0.75, 0.75)
    assert built.score(QUESTIONS[2]) == ({}, 0.0, 0.0)


def test_another_text_or_language_gets_its_own_kept_index(
    document: Document, tmp_path: Path
) -> None:
    Bm25Ranker(document, store=tmp_path)
    Bm25Ranker(document, "en", store=tmp_path)
    changed = document.model_copy(update={"source_sha256": "0" * 64})
    Bm25Ranker(changed, store=tmp_path)
    assert len(list(tmp_path.glob("bm25-*"))) == 3


def test_indexes_no_text_uses_are_deleted_and_a_mapped_one_still_answers(
    document: Document, tmp_path: Path
) -> None:
    current = Bm25Ranker(document, store=tmp_path)
    english = Bm25Ranker(document, "en", store=tmp_path)
    old = Bm25Ranker(document.model_copy(update={"source_sha256": "0" * 64}), store=tmp_path)
    expected = old.score(QUESTIONS[0])
    used = {d for d in (current.directory, english.directory) if d is not None}
    assert len(used) == 2
    assert prune_lexical(tmp_path, used) == [old.directory]
    assert set(tmp_path.glob("bm25-*")) == used
    assert old.score(QUESTIONS[0]) == expected  # mapped before it was deleted
    assert prune_lexical(tmp_path, used) == []


def test_a_damaged_kept_index_is_built_again(
    document: Document, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Bm25Ranker(document, store=tmp_path)
    (kept,) = tmp_path.glob("bm25-*")
    (kept / "vocab.index.json").write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        again = Bm25Ranker(document, store=tmp_path)
    assert "cannot be read" in caplog.text
    assert max(again.score(QUESTIONS[0])[0], key=again.score(QUESTIONS[0])[0].__getitem__) == 4


def test_a_lexical_ranking_lists_its_best_paragraphs_only() -> None:
    sentence = "De EU veroordeelt kwaadwillige cyberactiviteiten."
    paragraphs = tuple(
        Paragraph(
            number=n,
            text=f"{sentence} Nummer {n}." + " cyberactiviteiten" * (n % 7),
            sentences=(Sentence(index=0, text=sentence, start=0, end=len(sentence)),),
            raw_start=0,
            raw_end=0,
        )
        for n in range(LEXICAL_K + 500)
    )
    large = Document(title="t", source_sha256="s", cleaning_version="c", paragraphs=paragraphs)
    scores, known, _ = Bm25Ranker(large).score("cyberactiviteiten")
    assert len(scores) == LEXICAL_K
    assert known == 1.0
    lowest_kept = min(scores.values())
    assert all(n % 7 >= 1 for n in scores)  # those with more of the term came first
    assert lowest_kept > 0
