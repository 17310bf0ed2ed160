"""HTML for the chat and the paragraph panes; every piece of text is escaped here."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from html import escape

from assistant import AnswerResult, Paragraph

__all__ = [
    "CiteRequest",
    "answer_html",
    "document_html",
    "paragraph_html",
    "parse_cite",
    "partial_html",
    "question_html",
    "word_chunks",
]

_MARKER = re.compile(r"\[§(\d+)\]")
_FIRST_SENTENCE = re.compile(r"^(.*?[.!?])(?:\s|$)")
_CITE = re.compile(r"^(\d{1,4}):((?:\d{1,6}-\d{1,6})(?:,\d{1,6}-\d{1,6}){0,31})?$")
_WORDS = re.compile(r"\S+\s*")

_LABELS = {
    "nl": {
        "abstained": "Niet in de conclusies",
        "nearest": "Dichtstbijzijnde paragrafen:",
        "cover": "Begeleidende nota",
        "cited": "geciteerd",
        "paragraph": "Paragraaf",
    },
    "en": {
        "abstained": "Not in the conclusions",
        "nearest": "Nearest paragraphs:",
        "cover": "Cover note",
        "cited": "cited",
        "paragraph": "Paragraph",
    },
}

CiteRequest = tuple[int, list[tuple[int, int]]]


def _labels(language: str) -> dict[str, str]:
    return _LABELS["nl" if language == "nl" else "en"]


def chip(number: int, spans: Iterable[tuple[int, int]] = ()) -> str:
    """A clickable citation chip; the page's script sends its reference to the server.

    The reference lives in the fragment (``#cite=4:0-120``) because Gradio's sanitiser
    keeps ``href`` and ``class`` but drops ``data-*`` attributes.
    """
    reference = f"{number}:" + ",".join(f"{start}-{end}" for start, end in spans)
    return f'<a class="cite-chip" href="#cite={reference}" title="§{number}">[§{number}]</a>'


def question_html(question: str) -> str:
    return f'<p class="question">{escape(question)}</p>'


def word_chunks(text: str, words: int = 3) -> Iterator[str]:
    """Growing prefixes of ``text``, ``words`` words longer each time, ending with all of it."""
    pieces = _WORDS.findall(text)
    for end in range(words, len(pieces), words):
        yield "".join(pieces[:end])
    yield text


def partial_html(text: str) -> str:
    """An answer still arriving: plain escaped text, markers not yet chips."""
    return f'<div class="answer streaming">{escape(text)}</div>'


def answer_html(result: AnswerResult) -> str:
    """The final answer with chips, or a distinct abstention offering the nearest paragraphs."""
    labels = _labels(result.language)
    if result.abstained:
        # The answer is the abstention sentence, then the suggestions as text: chips instead.
        first = _FIRST_SENTENCE.match(result.answer)
        said = first.group(1) if first else result.answer
        offered = " ".join(chip(n) for n in result.suggestions)
        return (
            '<div class="abstention" role="note">'
            f'<strong class="abstention-label">{labels["abstained"]}</strong>'
            f"<p>{escape(said)}</p>"
            f'<p class="suggestions">{labels["nearest"]} {offered}</p></div>'
        )
    spans = {c.paragraph: [(s.start, s.end) for s in c.sentences] for c in result.citations}
    # A generated answer's claims each rest on their own span: the k-th [§n] of the answer
    # is the k-th kept citation of §n, so its chip highlights exactly that claim's support.
    own: dict[int, deque[tuple[int, int]]] = defaultdict(deque)
    for support in result.support:
        own[support.paragraph].append((support.start, support.end))

    def chip_of(match: re.Match[str]) -> str:
        number = int(match.group(1))
        claimed = own[number].popleft() if own[number] else None
        return chip(number, [claimed] if claimed else spans.get(number, []))

    lines = [f"<p>{_MARKER.sub(chip_of, escape(line))}</p>" for line in result.answer.splitlines()]
    return f'<div class="answer">{"".join(lines)}</div>'


def parse_cite(value: str) -> CiteRequest:
    """``'4:0-120,130-200'`` -> ``(4, [(0, 120), (130, 200)])``; ValueError otherwise."""
    match = _CITE.match(value.strip())
    if not match:
        raise ValueError(f"not a citation reference: {value[:40]!r}")
    parts = (part.partition("-") for part in filter(None, (match.group(2) or "").split(",")))
    spans = [(int(start), int(end)) for start, _, end in parts]
    return int(match.group(1)), spans


def _highlighted(text: str, spans: Iterable[tuple[int, int]], label: str) -> str:
    """``text`` escaped, with the valid, non-overlapping ``spans`` in ``<mark>``."""
    parts: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        start, end = max(start, cursor), min(end, len(text))
        if start >= end:
            continue
        parts.append(escape(text[cursor:start]))
        parts.append(f'<mark class="cited" title="{label}">{escape(text[start:end])}</mark>')
        cursor = end
    parts.append(escape(text[cursor:]))
    return "".join(parts)


def paragraph_html(
    paragraph: Paragraph, spans: Iterable[tuple[int, int]] = (), language: str = "nl"
) -> str:
    """One paragraph with the cited sentences highlighted."""
    labels = _labels(language)
    heading = (
        labels["cover"] if paragraph.number == 0 else f"{labels['paragraph']} {paragraph.number}"
    )
    body = _highlighted(paragraph.text, spans, labels["cited"])
    return (
        # The number as a class: the page's sanitiser keeps classes, not data- attributes.
        f'<article class="paragraph-view paragraph-{paragraph.number}">'
        f"<h3>§{paragraph.number} · {heading}</h3><p>{body}</p></article>"
    )


def document_html(paragraphs: Iterable[Paragraph], title: str, original_url: str) -> str:
    """The whole cleaned document with its paragraph numbers and a link to the original."""
    sections = "".join(
        f'<section class="doc-paragraph doc-p{p.number}">'
        f'<span class="pnum">§{p.number}</span> {escape(p.text)}</section>'
        for p in paragraphs
    )
    link = (
        f'<p class="original"><a href="{escape(original_url)}" target="_blank" '
        f'rel="noopener noreferrer">{escape(title)} (PDF)</a></p>'
    )
    return f'<div class="document">{link}{sections}</div>'
