"""Cleaning and the paragraph model, on the shipped document and on made-up layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings
from index.cleaning import Errata, join_hyphenated, load_errata, strip_footnote_markers
from index.document import Document, load_document, parse_document


@pytest.fixture(scope="module")
def document() -> Document:
    settings = Settings()
    return load_document(settings.document_path, settings.errata_path)


def test_shipped_copy_is_the_shared_corpus_unchanged() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not shared.exists():
        pytest.skip("no shared/ beside the repo")
    ours = Settings().document_path.read_bytes()
    assert ours == (shared / Settings().document_path.name).read_bytes()


def test_exactly_eight_units_with_their_openings(document: Document) -> None:
    numbers = [p.number for p in document.paragraphs]
    assert numbers == list(range(8))
    cover = document.paragraph(0).text
    assert cover.startswith("Betreft: Conclusies van de Raad over kwaadwillige cyberactiviteiten")
    assert "16 april 2018" in cover
    assert "Raad Buitenlandse Zaken" in cover
    assert cover.endswith("De Raad van de Europese Unie heeft de volgende conclusies aangenomen:")
    openings = [p.text[:20] for p in document.paragraphs[1:]]
    assert all(o.startswith("De EU ") for o in openings)
    assert [p.text.split()[2] for p in document.paragraphs[1:]] == [
        "benadrukt",
        "memoreert",
        "betuigt",
        "veroordeelt",
        "zal",
        "beklemtoont",
        "verklaart",
    ]


def test_several_de_eu_sentences_stay_in_one_paragraph(document: Document) -> None:
    assert [len(p.sentences) for p in document.paragraphs[1:]] == [1, 1, 2, 3, 2, 2, 1]
    assert "De EU onderkent" in document.paragraph(3).text
    assert document.paragraph(3).sentences[1].text.startswith("De EU onderkent")


def test_hyphenation_joined_but_real_hyphens_kept(document: Document) -> None:
    text = " ".join(p.text for p in document.paragraphs)
    for joined in ["buitenlands", "verantwoordelijkheden", "vreedzame", "cyberspace,"]:
        assert joined in text
    assert "buiten-" not in text
    assert "verantwoordelijk-" not in text
    assert "informatie- en communicatietechnologieën" in text
    assert "niet-statelijke" in text
    assert "EU-respons" in text
    assert "VN-handvest" in text


def test_footnote_garbage_and_errata(document: Document) -> None:
    text = " ".join(p.text for p in document.paragraphs)
    assert "'!!" not in text
    assert "!" not in text
    assert "kwaadwillige cyberactiviteiten, die bijdragen" in text
    assert "ssamenwerking" not in text
    assert " samenwerking " in text
    assert "technologieén" not in text
    assert text.count("communicatietechnologieën") == 2
    assert "geinterpreteerd" not in text
    assert "geïnterpreteerd" in text


def test_blank_lines_inside_sentences_are_merged(document: Document) -> None:
    assert "het sociale welzijn, de economische groei" in document.paragraph(1).text
    assert "\n" not in document.paragraph(1).text


def test_sentence_offsets_and_raw_spans_point_back(document: Document) -> None:
    raw = Settings().document_path.read_text(encoding="utf-8")
    for paragraph in document.paragraphs:
        for sentence in paragraph.sentences:
            assert paragraph.text[sentence.start : sentence.end] == sentence.text
        span = raw[paragraph.raw_start : paragraph.raw_end]
        assert paragraph.text.split()[0] in span
        assert paragraph.text.split()[-1].rstrip(".:") in span
    starts = [p.raw_start for p in document.paragraphs]
    assert starts == sorted(starts)


def test_unknown_paragraph_names_the_range(document: Document) -> None:
    with pytest.raises(KeyError, match="0-7"):
        document.paragraph(8)


def test_a_second_document_with_the_same_layout_needs_no_code() -> None:
    raw = (
        "Betreft: Conclusies over iets anders\n\nVoor de delegaties gaan hierbij de\n\n"
        "conclusies van 3 mei 2020.\nDe Raad heeft de volgende conclusies aangenomen:\n\n"
        "De EU stelt vast dat een heel lange zin over meerdere regels loopt en in het midden\n"
        "een afgebroken woord heeft zoals samen-\nwerking, en eindigt.\n\n"
        "De EU besluit ook iets. De EU voegt daar een zin aan toe.\n"
    )
    document = parse_document(raw, Errata(()))
    assert [p.number for p in document.paragraphs] == [0, 1, 2]
    assert "samenwerking" in document.paragraph(1).text
    assert len(document.paragraph(2).sentences) == 2


def test_cleaning_changes_the_fingerprint() -> None:
    raw = "Intro:\n\nDe EU zegt iets over ssamenwerking.\n"
    plain = parse_document(raw, Errata(()))
    fixed = parse_document(raw, Errata((("ssamenwerking", "samenwerking"),)))
    assert "samenwerking." in fixed.paragraph(1).text
    assert plain.fingerprint != fixed.fingerprint


def test_errata_file_format_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "errata.tsv"
    path.write_text("# comment\ngood\tright\nbad line without tab\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"errata.tsv:3"):
        load_errata(path)


def test_helpers() -> None:
    assert join_hyphenated(["buiten-", "lands beleid"]) == "buitenlands beleid"
    assert join_hyphenated(["EU-", "Respons"]) == "EU- Respons"
    assert strip_footnote_markers("cyberactiviteiten'!!, die") == "cyberactiviteiten, die"
    assert strip_footnote_markers("ICT's") == "ICT's"


def test_missing_document_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="document not found"):
        load_document(tmp_path / "nope.txt", None)
