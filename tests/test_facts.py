"""What a claim names, against what the cited paragraph names: names, counts, dates, money."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm.facts import Confusables, NamedFacts, counts
from assistant.settings import Settings
from assistant.text import KnownNames
from index.document import load_document
from index.versions import load_versions


@pytest.fixture(scope="module")
def facts() -> NamedFacts:
    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    versions = load_versions(settings.version_specs(), document, settings.document_language)
    return NamedFacts(
        KnownNames.of(document, settings.names_path),
        [(p.number, "nl", p.text) for p in document.paragraphs]
        + [(p.number, v.language, p.text) for v in versions for p in v.paragraphs],
        Confusables.load(settings.confusables_path),
    )


@pytest.mark.parametrize(
    ("claim", "language", "unknown"),
    [
        ("The EU condemns WannaCry and NotPetya.", "en", []),
        ("The EU condemns WannaCry and Bad Rabbit.", "en", ["Bad Rabbit"]),
        ("L'UE condamne WannaCry et Mirai.", "fr", ["Mirai"]),
        (
            "It was adopted by the Justice and Home Affairs Council.",
            "en",
            ["Justice", "Justice and Home Affairs"],
        ),
        ("It was adopted by the Foreign Affairs Council.", "en", []),
        ("Die EU verurteilt die Angriffe.", "de", []),  # German nouns are no names
        # ... except in a list a camel-case name begins
        ("Die EU verurteilt WannaCry und Industroyer.", "de", ["Industroyer"]),
        ("Die EU verurteilt WannaCry und NotPetya und ihre Schäden.", "de", []),
        # the document's own policy, in the words of the English version
        ("Measures of the Common Foreign and Security Policy can be used.", "en", []),
    ],
)
def test_every_name_of_a_list_must_be_known(
    facts: NamedFacts, claim: str, language: str, unknown: list[str]
) -> None:
    assert facts.unknown_names(claim, language) == unknown


@pytest.mark.parametrize(
    ("claim", "language", "paragraph", "absent"),
    [
        ("The UN firmly condemns WannaCry and NotPetya.", "en", 4, ["UN"]),
        ("The EU condemns WannaCry.", "en", 2, ["WannaCry"]),
        ("The EU condemns WannaCry.", "en", 4, []),
        ("Le droit international et la Charte des Nations unies s'appliquent.", "fr", 5, []),
        ("States must not misuse ICTs through proxies.", "en", 5, []),  # §5 spells it out
        # the Council the cover note names speaks in every paragraph ('De EU ...')
        ("De Raad maakt zich ernstig zorgen over derde staten.", "nl", 3, []),
    ],
)
def test_a_known_name_must_stand_in_the_cited_paragraph(
    facts: NamedFacts, claim: str, language: str, paragraph: int, absent: list[str]
) -> None:
    assert facts.absent_names(claim, language, paragraph) == absent


@pytest.mark.parametrize(
    ("text", "language", "found"),
    [
        ("De EU noemt twee aanvallen.", "nl", {2}),
        ("The EU names three attacks.", "en", {3}),
        ("Die EU nennt zwölf Angriffe.", "de", {12}),
        ("L'UE cite deux attaques.", "fr", {2}),
        ("Een aanval, one attack, un ataque.", "nl", set()),  # 'one' is also an article
        ("Kolme hyökkäystä.", "et", set()),  # num2words does not know Estonian: not read
    ],
)
def test_counts_written_as_words(text: str, language: str, found: set[int]) -> None:
    assert counts(text, language, digits=False) == found


def test_a_count_date_or_amount_the_paragraph_does_not_give_is_named(facts: NamedFacts) -> None:
    assert facts.miscounted("The EU names three attacks.", "en", 4) == (
        "counts 3, which §4 does not give"
    )
    assert facts.misdated("Adopted on 16 March 2018.", "en", 0) is not None
    assert facts.misdated("Adopted on 16 April 2018.", "en", 0) is None
    assert facts.unfounded_amount("It cost 1 billion euros.", 4) is not None
    assert facts.unfounded_amount("It caused significant economic loss.", 4) is None


@pytest.mark.parametrize(
    ("claim", "language", "unknown"),
    [
        # Names of the document's own words, but of another body.
        ("Der Europäische Rat hat die Schlussfolgerungen angenommen.", "de", ["Europäische Rat"]),
        ("Der Europäischen Rat hat sie angenommen.", "de", ["Europäische Rat"]),
        ("The European Council adopted the conclusions.", "en", ["European Council"]),
        ("Les conclusions ont été adoptées par le Conseil européen.", "fr", ["Conseil européen"]),
        ("De conclusies zijn aangenomen door de Europese Raad.", "nl", ["Europese Raad"]),
        # A policy an answer may put in place of the CFSP.
        (
            "Dazu gehören Maßnahmen der Europäischen Nachbarschaftspolitik.",
            "de",
            ["Europäische Nachbarschaftspolitik"],
        ),
        # The document's own bodies.
        ("Der Rat der Europäischen Union hat sie angenommen.", "de", []),
        ("The Council of the European Union adopted them.", "en", []),
        ("De Raad Buitenlandse Zaken heeft ze aangenomen.", "nl", []),
    ],
)
def test_a_body_the_document_does_not_mention_is_named(
    facts: NamedFacts, claim: str, language: str, unknown: list[str]
) -> None:
    assert facts.unknown_names(claim, language) == unknown


def test_a_listed_body_the_document_names_itself_is_not_held_against_it(tmp_path: Path) -> None:
    listed = tmp_path / "confusables.tsv"
    listed.write_text("# comment\nRaad Buitenlandse Zaken\tEuropese Raad\n", encoding="utf-8")
    facts = NamedFacts(
        KnownNames(frozenset()),
        [(0, "nl", "De Raad Buitenlandse Zaken."), (1, "nl", "x")],
        Confusables.load(listed),
    )
    assert facts.others.named("de Raad Buitenlandse Zaken en de Europese Raad") == ["Europese Raad"]


def test_an_unreadable_list_of_bodies_names_its_file(tmp_path: Path) -> None:
    listed = tmp_path / "confusables.tsv"
    listed.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="confusables.tsv"):
        Confusables.load(listed)


@pytest.mark.parametrize(
    ("claim", "language", "novel"),
    [
        (
            "L'UE annonce la création d'une agence européenne de cyberdiplomatie.",
            "fr",
            {"annonce", "creation", "agence"},
        ),
        ("The EU proposes a legally binding treaty.", "en", {"proposes", "legally", "treaty"}),
        ("De EU veroordeelt WannaCry en NotPetya.", "nl", set()),
        ("UE potępia WannaCry.", "pl", set()),  # no text in Polish: nothing is read
    ],
)
def test_words_the_document_never_uses_are_novel(
    facts: NamedFacts, claim: str, language: str, novel: set[str]
) -> None:
    assert set(facts.novel_terms(claim, language)) == novel
