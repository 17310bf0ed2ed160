"""The abstention policy's data-driven signals, without a model: answer types, enrichment files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Settings
from assistant.abstention import AnswerTypes, load_answer_types
from index.document import load_document
from index.enrichment import load_enrichment

SETTINGS = Settings()
UNANSWERED = Path(__file__).resolve().parents[1] / "index" / "data" / "unanswered.jsonl"


@pytest.fixture(scope="module")
def types() -> AnswerTypes:
    return load_answer_types(SETTINGS.answer_types_path)


@pytest.mark.parametrize(
    ("question", "language", "kind"),
    [
        ("How much money did WannaCry cost?", "en", "amount"),
        ("Hoeveel schade heeft NotPetya aangericht?", "nl", "amount"),
        ("Wer steckt hinter NotPetya?", "de", "attribution"),
        ("Quel pays est responsable de WannaCry ?", "fr", "attribution"),
        ("När antogs slutsatserna?", "sv", "date"),
        ("Kiedy przyjęto te konkluzje?", "pl", "date"),
        ("En wanneer was dat?", "nl", "date"),
        # 'when' as a conjunction, deep in the question, asks for no date
        ("Vad uttrycker EU djup oro över när det gäller tredjeländer?", "sv", None),
        # 'wann' inside 'WannaCry' is no cue
        ("Was sagt die EU über WannaCry?", "de", None),
        ("Welke aanvallen veroordeelt de EU?", "nl", None),
        # a word more inside a cue phrase still asks for an amount
        ("Wie hoch war der wirtschaftliche Schaden durch WannaCry?", "de", "amount"),
        ("Quel ministre présidait la session du Conseil ?", "fr", "person"),
        ("Welke lidstaten werden het hardst getroffen?", "nl", "country"),
        ("Which member states voted against the conclusions?", "en", "country"),
        # euros or a budget ask for an amount wherever they stand
        ("Quel budget l'UE consacre-t-elle à la cybersécurité ?", "fr", "amount"),
        ("Koliko je NotPetya stala gospodarstvo EU-a u eurima?", "hr", "amount"),
        # a word of 'europese' is no euro
        ("Wat zegt de Europese Unie over WannaCry?", "nl", None),
        # what would have been, or what came after the text
        ("Was wäre passiert, wenn die EU Sanktionen verhängt hätte?", "de", "counterfactual"),
        (
            "What would the EU have done if NotPetya had hit its institutions?",
            "en",
            "counterfactual",
        ),
        ("Would the EU use restrictive measures against such attacks?", "en", None),
        ("Op welke datum is de volgende vergadering?", "nl", "date"),
        # states as the text speaks of them are no country asked for
        ("Which states does the EU call on to respect international law?", "en", None),
    ],
)
def test_the_type_a_question_asks_for(
    types: AnswerTypes, question: str, language: str, kind: str | None
) -> None:
    assert types.asked(question, language)[:1] == ((kind,) if kind else ())


def test_a_passage_holds_only_the_answer_types_it_states(types: AnswerTypes) -> None:
    document = load_document(SETTINGS.document_path, SETTINGS.errata_path)
    cover, condemnation = document.paragraph(0).text, document.paragraph(4).text
    assert types.held("date", cover)  # 16 april 2018
    assert not types.held("date", condemnation)
    assert not types.held("amount", condemnation)
    assert not types.held("attribution", condemnation)
    assert not types.held("person", cover)  # a Council configuration, no minister named
    assert not types.held("country", condemnation)
    assert types.held("country", document.paragraph(3).text)  # 'derde staten'
    assert not types.held("later_event", cover)  # its date is the document's own
    assert not any(types.held("counterfactual", p.text) for p in document.paragraphs)
    both = types.asked("Op welke datum is de volgende vergadering?", "nl")
    assert both == ("date", "later_event")


def test_a_bad_enrichment_line_names_its_file_and_line(tmp_path: Path) -> None:
    document = load_document(SETTINGS.document_path, SETTINGS.errata_path)
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"paragraph": 4, "lang": "en", "question": "Which attacks?"})
        + "\n{not json\n"
        + json.dumps({"paragraph": 9, "lang": "en", "question": "What about §9?"})
        + "\n",
        "utf-8",
    )
    with pytest.raises(ValueError, match=r"q\.jsonl:2: ") as raised:
        load_enrichment(questions, None, document)
    assert "there is no paragraph 9" in str(raised.value)


def test_no_files_no_enrichment_and_a_changed_file_a_new_hash(tmp_path: Path) -> None:
    document = load_document(SETTINGS.document_path, SETTINGS.errata_path)
    assert len(load_enrichment(None, tmp_path / "absent.jsonl", document)) == 0
    questions = tmp_path / "q.jsonl"
    row = {"paragraph": 4, "lang": "en", "question": "Which attacks are named?"}
    questions.write_text(json.dumps(row) + "\n", "utf-8")
    first = load_enrichment(questions, None, document)
    questions.write_text(json.dumps({**row, "question": "Which worms?"}) + "\n", "utf-8")
    assert load_enrichment(questions, None, document).sha256 != first.sha256


def test_the_shipped_exemplars_cover_every_official_language() -> None:
    from assistant.text import EU_LANGUAGES

    document = load_document(SETTINGS.document_path, SETTINGS.errata_path)
    enrichment = load_enrichment(
        SETTINGS.questions_path,
        SETTINGS.instructions_path,
        document,
        offtopic_path=SETTINGS.offtopic_path,
        unanswered_path=UNANSWERED,  # off by default
    )
    assert {e.lang for e in enrichment.instructions} == set(EU_LANGUAGES)
    assert {e.lang for e in enrichment.offtopic} == set(EU_LANGUAGES)
    assert {e.lang for e in enrichment.unanswered} == set(EU_LANGUAGES)
    assert {q.paragraph for q in enrichment.questions} == {p.number for p in document.paragraphs}


def test_answer_types_are_data_and_a_type_without_a_passage_pattern_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "types.toml"
    path.write_text(
        "[passage.nl]\nweather = '''\\b(regen|zon)\\b'''\n\n"
        '[weather.en]\ncues = ["what will the weather be"]\n',
        "utf-8",
    )
    types = load_answer_types(path)
    assert types.asked("What will the weather be like?", "en") == ("weather",)
    assert not types.held("weather", "De EU veroordeelt WannaCry.")
    assert types.held("weather", "Morgen regen.")
    path.write_text(path.read_text("utf-8") + '\n[snow.en]\ncues = ["how much snow"]\n', "utf-8")
    with pytest.raises(ValueError, match=r"types\.toml.*snow"):
        load_answer_types(path)


def test_each_document_language_gets_its_own_passage_patterns() -> None:
    # A library document in English is not read with the Dutch patterns: with none for
    # English, no question about it is refused by its type.
    from assistant.compose import _Reviewed

    reviewed = _Reviewed(SETTINGS)
    english = "The EU condemns the attacks that Russia carried out."
    assert not reviewed.answer_types("nl").held("country", english)
    assert reviewed.answer_types("en").held("country", english)
    assert reviewed.answer_types("nl") is reviewed.answer_types("nl")  # read once
