"""The baselines: chunk-to-paragraph mapping, and the LangChain recipe on the real stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.baselines import LangChainRecipe, build_baseline, map_chunk
from assistant.evaluation.cli import main
from assistant.settings import Settings
from index.document import Paragraph, load_document
from index.embedders import Embedder


def _paragraph(number: int, start: int, end: int) -> Paragraph:
    return Paragraph(number=number, text="", sentences=(), raw_start=start, raw_end=end)


PARAGRAPHS = (_paragraph(0, 0, 100), _paragraph(1, 102, 300), _paragraph(2, 302, 400))


@pytest.mark.parametrize(
    ("start", "end", "paragraph"),
    [
        (0, 90, 0),
        (50, 250, 1),  # 50 chars of §0, 148 of §1
        (0, 201, 0),  # 100 vs 99
        (150, 400, 1),  # 150 vs 98
        (1, 201, 0),  # a tie (99 each) goes to the earlier paragraph
        (100, 102, 0),  # only separators: the nearest paragraph (first on a tie)
        (301, 302, 2),
        (350, 500, 2),
    ],
)
def test_map_chunk_to_the_paragraph_it_overlaps_most(start: int, end: int, paragraph: int) -> None:
    assert map_chunk(start, end, PARAGRAPHS) == paragraph


def test_unknown_baseline() -> None:
    with pytest.raises(ValueError, match="unknown baseline 'tfidf'"):
        build_baseline("tfidf", Settings())


@pytest.fixture(scope="module")
def recipe(minilm: Embedder) -> LangChainRecipe:
    built = build_baseline("langchain-recipe", Settings(), embedder=minilm)
    assert isinstance(built, LangChainRecipe)
    return built


@pytest.mark.slow
def test_recipe_chunks_cover_the_raw_text_in_1000_char_pieces(recipe: LangChainRecipe) -> None:
    settings = Settings()
    raw = settings.document_path.read_text("utf-8")
    document = load_document(settings.document_path, settings.errata_path)
    assert len(recipe.chunks) >= len(raw) // 1000
    assert all(c.end - c.start <= 1000 for c in recipe.chunks)
    assert not raw[: recipe.chunks[0].start].strip()
    assert not raw[recipe.chunks[-1].end :].strip()
    known = {p.number for p in document.paragraphs}
    assert {c.paragraph for c in recipe.chunks} <= known


@pytest.mark.slow
def test_recipe_answers_from_its_top_paragraph_and_never_abstains(
    recipe: LangChainRecipe,
) -> None:
    result = recipe.ask("What did WannaCry and NotPetya cause?")
    ranked = [r.paragraph for r in result.ranked]
    assert 1 <= len(ranked) <= 4
    assert len(set(ranked)) == len(ranked)
    assert result.cited_paragraphs == ranked[:1]
    assert result.answer.endswith(f"[§{ranked[0]}]")
    assert not result.abstained
    off_topic = recipe.ask("Can you give me a recipe for pancakes?")
    assert not off_topic.abstained
    assert off_topic.cited_paragraphs


@pytest.mark.slow
def test_cli_evaluates_the_recipe(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(
        json.dumps(
            {
                "id": "u",
                "lang": "en",
                "question": "Which ransomware hit Irish hospitals in 2021?",
                "answerable": False,
                "paragraphs": [],
            }
        )
        + "\n",
        "utf-8",
    )
    out = tmp_path / "out.json"
    assert (
        main(
            [
                str(gold),
                "--baseline",
                "langchain-recipe",
                "--json",
                str(out),
                "--fail-under",
                "abstention_accuracy=1",
            ]
        )
        == 1
    )
    data = json.loads(out.read_text("utf-8"))
    assert data["overall"]["abstention_accuracy"] == 0.0  # the recipe never abstains
    assert data["overall"]["citation_precision"] == 0.0
