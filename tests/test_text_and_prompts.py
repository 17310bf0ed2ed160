"""Language detection, name spotting, BM25 analysis and the message files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.text import (
    EU_LANGUAGES,
    Analyzer,
    detect_language,
    fold,
    months,
    names,
    numbers,
)
from prompts import load_messages, prompts_dir


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hoe laat is het nu?", "nl"),
        ("What does the EU condemn?", "en"),
        ("Was verurteilt die EU?", "de"),
        ("Que condamne l'UE ?", "fr"),
    ],
)
def test_detects_short_questions(text: str, language: str) -> None:
    assert detect_language(text, likely=("nl", "en", "fr", "de")) == language


def test_the_documents_languages_decide_a_near_tie() -> None:
    # Without a head start, this short French question is a near tie with Italian.
    assert detect_language("Que condamne l'UE ?", likely=("fr",)) == "fr"
    assert detect_language("Que condamne l'UE ?", likely=("it",)) == "it"
    assert detect_language("12 345", default="de") == "de"  # nothing to tell by


def test_dutch_analyser_folds_and_stems() -> None:
    analyze = Analyzer("nl")
    assert analyze("geïnterpreteerd") == analyze("geinterpreteerd")
    assert analyze("cyberactiviteiten") == analyze("cyberactiviteit")
    assert "de" not in analyze("de EU en de VN")
    assert fold("Étäts") == "etats"


def test_names_and_numbers() -> None:
    assert names("Welke maatregelen moet Nederland nemen?", "nl") == ["Nederland"]
    assert names("Was hat die NATO über Cyberangriffe beschlossen?", "de") == ["NATO"]
    assert names("What does the EU condemn?", "en") == ["EU"]
    assert names("Qu'a décidé l'OTAN ?", "fr") == ["OTAN"]
    # Identifiers are names in every language; ordinals are not.
    assert names("Mitä päätelmissä sanotaan 5G-verkkojen turvallisuudesta?", "fi") == ["5G"]
    assert names("Was sagen die G7 und die NIS2-Richtlinie?", "de") == ["G7", "NIS2"]
    assert names("Wat staat in de 2e zin, op de 16th?", "nl") == []
    # A word after an opening quotation mark or question mark opens the sentence.
    assert names("„Welke aanvallen noemt de Raad?", "nl") == ["Raad"]
    assert names("¿Por qué lo dice la UE?", "es") == ["UE"]
    assert numbers("het verslag van 2015 en 16 april") == {"2015", "16"}


@pytest.mark.parametrize(
    ("text", "language", "found"),
    [
        ("aangenomen op 16 april 2018", "nl", {4}),
        ("am 16. März 2018 angenommen", "de", {3}),
        ("le 16 avr. 2018", "fr", {4}),
        ("dnia 16 kwietnia 2018 r.", "pl", {4}),
        ("The EU may act in May 2018.", "en", {5}),  # the verb is no month
        ("Les mars et les avril", "fr", set()),  # a month only in a date
        ("16 april 2018", "xx", set()),  # a language Babel does not know
    ],
)
def test_months_named_in_dates(text: str, language: str, found: set[int]) -> None:
    assert months(text, language) == found


def test_messages_cover_every_official_eu_language() -> None:
    book = load_messages()
    assert set(book.languages) == set(EU_LANGUAGES)
    abstentions = {book.for_language(code).abstain for code in EU_LANGUAGES}
    assert len(abstentions) == len(EU_LANGUAGES)  # each its own, none left in English
    for code in EU_LANGUAGES:
        texts = book.for_language(code)
        assert "{paragraphs}" in texts.suggest
        assert texts.instruction
        assert bool(texts.quoting) == (code != "nl")  # only Dutch needs no 'quoting' notice
        assert texts.version_line("official").startswith(texts.official[:1].upper())
        assert texts.translation
        assert texts.original
    assert book.for_language("ja") == book.for_language("en")  # beyond the 24: English


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[en]\nabstain = "x"\nsuggest = "{paragraphs}"\nquoting = ""\nextra = "y"\n', "extra"),
        ('[en]\nabstain = "x"\nsuggest = "{pages}"\nquoting = ""\n', "paragraphs"),
        ('[en]\nabstain = "{question}"\nsuggest = "{paragraphs}"\nquoting = ""\n', "no variables"),
        ('[en]\nabstain = "x"\nquoting = ""\n', "suggest"),
        (
            '[nl]\nabstain = "x"\nsuggest = "{paragraphs}"\nquoting = ""\ninstruction = "y"\n'
            'version_quoting = "{label}:"\ntranslation = "t"\nofficial = "o"\noriginal = "r"\n',
            "fallback",
        ),
        (
            '[en]\nabstain = "x"\nsuggest = "{paragraphs}"\nquoting = ""\ninstruction = "y"\n'
            'version_quoting = "quoting:"\ntranslation = "t"\nofficial = "o"\noriginal = "r"\n',
            "label",
        ),
        ("[en\n", "messages.toml"),
    ],
)
def test_bad_message_files_fail_at_load(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "messages.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        load_messages(path)


def test_shipped_prompts_folder() -> None:
    assert (prompts_dir() / "messages.toml").is_file()


def test_one_analyzer_serves_concurrent_requests() -> None:
    # Requests share the cached analyzer; a Snowball stemmer keeps its word in itself.
    import sys
    import threading

    text = (
        "De EU veroordeelt met klem het kwaadwillige gebruik van informatie- en "
        "communicatietechnologieën, ook de destabiliserende cyberactiviteiten. " * 20
    )
    analyze = Analyzer("nl")
    expected = Analyzer("nl")(text)
    seen: list[object] = []
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can

    def work() -> None:
        for _ in range(10):
            try:
                seen.append(analyze(text) == expected)
            except Exception as error:  # a race shows as IndexError inside the stemmer
                seen.append(error)

    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert seen == [True] * 80
