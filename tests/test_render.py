"""The chat's HTML for a generated answer: each chip highlights its own claim's support."""

from __future__ import annotations

from assistant import AnswerResult, Citation, ClaimSupport
from index.document import Paragraph, Sentence
from ui.render import CiteRequest, answer_html, parse_cite

TEXT = "Eerste zin over WannaCry. Tweede zin over stabiliteit. Derde zin."
SENTENCES = [
    Sentence(index=0, text="Eerste zin over WannaCry.", start=0, end=25),
    Sentence(index=1, text="Tweede zin over stabiliteit.", start=26, end=54),
    Sentence(index=2, text="Derde zin.", start=55, end=65),
]


def _result(answer: str, support: list[ClaimSupport]) -> AnswerResult:
    paragraph = Paragraph(
        number=4, text=TEXT, sentences=tuple(SENTENCES), raw_start=0, raw_end=len(TEXT)
    )
    return AnswerResult(
        question="?",
        answer=answer,
        abstained=False,
        citations=[Citation.quoting(paragraph, SENTENCES[:2])],
        ranked=[],
        language="nl",
        search_query="?",
        generated=True,
        support=support,
    )


def _chips(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('href="#cite=')[1:]]


def test_each_claim_chip_highlights_its_own_support() -> None:
    support = [
        ClaimSupport(claim="a", paragraph=4, sentence=1, start=26, end=54, text=SENTENCES[1].text),
        ClaimSupport(claim="b", paragraph=4, sentence=0, start=0, end=25, text=SENTENCES[0].text),
    ]
    html = answer_html(_result("Over stabiliteit [§4]. Over WannaCry [§4].", support))
    first, second = _chips(html)
    assert parse_cite(first) == CiteRequest(4, [(26, 54)])
    assert parse_cite(second) == CiteRequest(4, [(0, 25)])


def test_without_support_a_chip_highlights_every_cited_sentence() -> None:
    [only] = _chips(answer_html(_result("Een citaat [§4].", [])))
    assert parse_cite(only) == CiteRequest(4, [(0, 25), (26, 54)])


def test_an_answer_carries_its_link_download_and_ratings_as_relative_addresses() -> None:
    result = _result("Een citaat [§4].", [])
    html = answer_html(result)
    assert f'href="?answer={result.id}"' in html
    assert f'href="api/answers/{result.id}?format=md"' in html
    assert f'href="#feedback={result.id}:up"' in html
    assert f'href="#feedback={result.id}:down"' in html
    assert "Link naar dit antwoord" in html  # the answer's language (Dutch) labels them


def test_a_version_reference_survives_the_round_trip_and_switches() -> None:
    cite = CiteRequest(4, [(0, 25)], "en", [(0, 30)])
    assert cite.reference == "4:0-25@en:0-30"
    assert parse_cite(cite.reference) == cite
    original = cite.switched()
    assert original.reference == "4:0-25@en:0-30!"
    assert parse_cite(original.reference) == original
    assert original.switched() == cite
    for bad in ("4:0-25@english:0-3", "4:0-25@en:0-3!!", "4@en"):
        try:
            parse_cite(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_the_pane_links_its_paragraph() -> None:
    from ui.render import paragraph_html

    paragraph = Paragraph(
        number=4, text=TEXT, sentences=tuple(SENTENCES), raw_start=0, raw_end=len(TEXT)
    )
    assert 'class="paragraph-link" href="?p=4"' in paragraph_html(paragraph)


def test_a_version_pane_has_its_own_link_and_one_switch() -> None:
    from assistant import ParagraphVersion
    from ui.render import TextSwitch, paragraph_html

    version = ParagraphVersion(
        number=4, language="en", status="unofficial translation",
        label="unofficial translation", original_language="nl", original_label="Original",
        text="First sentence.", sentences=[Sentence(index=0, text="First sentence.", start=0,
        end=15)], aligned=True,
    )  # fmt: skip
    target = CiteRequest(4, [(0, 25)], "en", [(0, 15)], original=True)
    html = paragraph_html(version, [(0, 15)], "en", TextSwitch("this", "Original (nl)", target))
    assert html.count("text-switch") == 1
    assert 'class="paragraph-link" href="?p=4&amp;lang=en"' in html
