"""HTML for the chat and the paragraph panes; every piece of text is escaped here."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from html import escape

from assistant import AnswerResult, Paragraph, ParagraphVersion

__all__ = [
    "CiteRequest",
    "TextSwitch",
    "answer_actions",
    "answer_html",
    "conversation_html",
    "document_html",
    "paragraph_html",
    "parse_cite",
    "partial_html",
    "question_html",
    "word_chunks",
]

_MARKER = re.compile(r"\[§(\d+)\]")
_FIRST_SENTENCE = re.compile(r"^(.*?[.!?])(?:\s|$)")
_SPANS = r"(?:\d{1,6}-\d{1,6})(?:,\d{1,6}-\d{1,6}){0,31}"
# "4:0-120" the original's spans; "@en:0-95" the same passage's spans in a language
# version, which the pane then shows; a final "!" shows the original all the same. A
# paragraph of a library document has the document's id before it: "water-2026/4:0-120".
_CITE = re.compile(
    rf"^(?:([a-z0-9][a-z0-9-]{{1,62}})/)?(\d{{1,4}}):({_SPANS})?"
    rf"(?:@([a-z]{{2,3}}):({_SPANS})?(!)?)?$"
)
_WORDS = re.compile(r"\S+\s*")

_LABELS = {
    "nl": {
        "abstained": "Niet in de conclusies",
        "nearest": "Dichtstbijzijnde paragrafen:",
        "cover": "Begeleidende nota",
        "cited": "geciteerd",
        "paragraph": "Paragraaf",
        "link": "Link naar dit antwoord",
        "paragraph_link": "Link naar deze paragraaf",
        "export": "Downloaden (Markdown)",
        "helpful": "Nuttig",
        "not_helpful": "Niet nuttig",
        "conversation": "Gesprek downloaden (Markdown)",
        "source": "Uit:",
    },
    "en": {
        "abstained": "Not in the conclusions",
        "nearest": "Nearest paragraphs:",
        "cover": "Cover note",
        "cited": "cited",
        "paragraph": "Paragraph",
        "link": "Link to this answer",
        "paragraph_link": "Link to this paragraph",
        "export": "Download (Markdown)",
        "helpful": "Helpful",
        "not_helpful": "Not helpful",
        "conversation": "Download the conversation (Markdown)",
        "source": "From:",
    },
}

Spans = list[tuple[int, int]]


@dataclass(frozen=True)
class CiteRequest:
    """What a chip asks the pane to show: a paragraph, its cited spans, and a version's."""

    number: int
    spans: Spans
    language: str | None = None  # a language version of the same passage
    version_spans: Spans = field(default_factory=list)
    original: bool = False  # show the original although a version is named
    document: str | None = None  # a library document's id; None: the configured document

    @property
    def reference(self) -> str:
        """The chip's reference (the inverse of ``parse_cite``)."""
        text = f"{self.document}/" if self.document else ""
        text += f"{self.number}:{_spans(self.spans)}"
        if self.language:
            text += f"@{self.language}:{_spans(self.version_spans)}" + (
                "!" if self.original else ""
            )
        return text

    def switched(self) -> CiteRequest:
        """The same passage in the other text (the original or the version)."""
        return replace(self, original=not self.original)


def _spans(spans: Iterable[tuple[int, int]]) -> str:
    return ",".join(f"{start}-{end}" for start, end in spans)


def _labels(language: str) -> dict[str, str]:
    return _LABELS["nl" if language == "nl" else "en"]


def chip(
    number: int,
    spans: Iterable[tuple[int, int]] = (),
    version: str = "",
    document: str | None = None,
) -> str:
    """A clickable citation chip; the page's script sends its reference to the server.

    The reference lives in the fragment (``#cite=4:0-120``) because Gradio's sanitiser
    keeps ``href`` and ``class`` but drops ``data-*`` attributes. ``version`` is the
    reference's version part (``@en:0-95``), when the answer quoted one; ``document`` a
    library document's id (``water-2026/4:0-120``).
    """
    reference = f"{document}/" if document else ""
    reference += f"{number}:{_spans(spans)}{version}"
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


def answer_html(result: AnswerResult, library: str | None = None) -> str:
    """The final answer with chips, or a distinct abstention offering the nearest paragraphs.

    Args:
        library: the configured document's id, when the assistant answers from a library:
            the answer then names its document, and the chips of another carry its id.
    """
    labels = _labels(result.language)
    document = result.document if library and result.document != library else None
    source = (
        f'<p class="answer-source">{labels["source"]} {escape(result.document_title or "")}</p>'
        if library and result.document_title
        else ""
    )
    if result.abstained:
        # The answer is the abstention sentence, then the suggestions as text: chips instead.
        first = _FIRST_SENTENCE.match(result.answer)
        said = first.group(1) if first else result.answer
        offered = " ".join(chip(n, document=document) for n in result.suggestions)
        return (
            '<div class="abstention" role="note">'
            f'<strong class="abstention-label">{labels["abstained"]}</strong>'
            f"<p>{escape(said)}</p>"
            f'<p class="suggestions">{labels["nearest"]} {offered}</p>{source}</div>'
        )
    spans = {c.paragraph: [(s.start, s.end) for s in c.sentences] for c in result.citations}
    versions = {
        c.paragraph: f"@{c.version.language}:{_spans((s.start, s.end) for s in quoted)}"
        for c in result.citations
        if c.version is not None and (quoted := c.version.sentences) is not None
    }
    # A generated answer's claims each rest on their own span: the k-th [§n] of the answer
    # is the k-th kept citation of §n, so its chip highlights exactly that claim's support.
    own: dict[int, deque[tuple[int, int]]] = defaultdict(deque)
    for support in result.support:
        own[support.paragraph].append((support.start, support.end))

    def chip_of(match: re.Match[str]) -> str:
        number = int(match.group(1))
        claimed = own[number].popleft() if own[number] else None
        if claimed:
            return chip(number, [claimed], document=document)
        return chip(number, spans.get(number, []), versions.get(number, ""), document)

    lines = [f"<p>{_MARKER.sub(chip_of, escape(line))}</p>" for line in result.answer.splitlines()]
    actions = answer_actions(result.id, labels)
    return f'<div class="answer">{source}{"".join(lines)}{actions}</div>'


def _parsed_spans(text: str | None) -> Spans:
    parts = (part.partition("-") for part in filter(None, (text or "").split(",")))
    return [(int(start), int(end)) for start, _, end in parts]


def answer_actions(answer_id: str, labels: dict[str, str]) -> str:
    """An answer's link, its download and the two ratings (the page's script sends those).

    Relative addresses, so that they work under any prefix the app is served at.
    """
    safe = escape(answer_id)
    return (
        '<p class="answer-actions">'
        f'<a class="answer-link" href="?answer={safe}">{labels["link"]}</a> · '
        f'<a class="answer-export" href="api/answers/{safe}?format=md">{labels["export"]}</a> · '
        f'<a class="feedback feedback-up" href="#feedback={safe}:up" title="{labels["helpful"]}">'
        f'<span aria-hidden="true">👍</span> {labels["helpful"]}</a> '
        f'<a class="feedback feedback-down" href="#feedback={safe}:down" '
        f'title="{labels["not_helpful"]}"><span aria-hidden="true">👎</span> '
        f"{labels['not_helpful']}</a></p>"
    )


def conversation_html(answer_ids: Sequence[str], language: str = "nl") -> str:
    """The link that downloads the whole conversation, or nothing before the first answer."""
    if not answer_ids:
        return ""
    ids = ",".join(escape(i) for i in answer_ids)
    label = _labels(language)["conversation"]
    return f'<a class="conversation-export" href="api/conversations?ids={ids}">{label}</a>'


def parse_cite(value: str) -> CiteRequest:
    """``'4:0-120,130-200@en:0-95'`` -> a ``CiteRequest``; ValueError otherwise."""
    match = _CITE.match(value.strip())
    if not match:
        raise ValueError(f"not a citation reference: {value[:40]!r}")
    document, number, spans, language, version_spans, original = match.groups()
    return CiteRequest(
        int(number),
        _parsed_spans(spans),
        language,
        _parsed_spans(version_spans),
        bool(original),
        document,
    )


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


@dataclass(frozen=True)
class TextSwitch:
    """The line above a paragraph shown beside another text of it: which text this is, and
    a link to the other (the original, or the version in the asker's language)."""

    this: str  # e.g. "unofficial translation (en)"
    other: str  # e.g. "Original (nl)"
    target: CiteRequest


def paragraph_html(
    paragraph: Paragraph | ParagraphVersion,
    spans: Iterable[tuple[int, int]] = (),
    language: str = "nl",
    switch: TextSwitch | None = None,
) -> str:
    """One paragraph (of the original or a version) with the cited sentences highlighted."""
    labels = _labels(language)
    heading = (
        labels["cover"] if paragraph.number == 0 else f"{labels['paragraph']} {paragraph.number}"
    )
    body = _highlighted(paragraph.text, spans, labels["cited"])
    # Number and text as classes: the page's sanitiser keeps classes, not data- attributes.
    own = paragraph.language if isinstance(paragraph, ParagraphVersion) else "original"
    query = f"?p={paragraph.number}"
    if isinstance(paragraph, ParagraphVersion):
        query += f"&amp;lang={escape(paragraph.language)}"
    own_link = f'<a class="paragraph-link" href="{query}">{labels["paragraph_link"]}</a>'
    line = ""
    if switch is not None:
        link = (
            f'<a class="cite-chip text-switch" href="#cite={switch.target.reference}">'
            f"{escape(switch.other)}</a>"
        )
        line = f'<p class="text-label"><em>{escape(switch.this)}</em> · {link}</p>'
    return (
        f'<article class="paragraph-view paragraph-{paragraph.number} text-{own}">'
        f"<h3>§{paragraph.number} · {heading}</h3>{line}<p>{body}</p>"
        f'<p class="paragraph-links">{own_link}</p></article>'
    )


def document_html(
    paragraphs: Iterable[Paragraph],
    title: str,
    original_url: str,
    version: Sequence[ParagraphVersion] = (),
) -> str:
    """The whole cleaned document with its paragraph numbers and a link to the original.

    With a ``version`` (the page's language), that version comes first, labelled, and the
    original follows in a fold that opens on a click.
    """
    original = "".join(
        f'<section class="doc-paragraph doc-p{p.number}">'
        f'<span class="pnum">§{p.number}</span> {escape(p.text)}</section>'
        for p in paragraphs
    )
    link = (
        f'<p class="original"><a href="{escape(original_url)}" target="_blank" '
        f'rel="noopener noreferrer">{escape(title)} (PDF)</a></p>'
    )
    if not version:
        return f'<div class="document">{link}{original}</div>'
    first = version[0]
    translated = "".join(
        f'<section class="doc-version doc-v{p.number}">'
        f'<span class="pnum">§{p.number}</span> {escape(p.text)}</section>'
        for p in version
    )
    return (
        f'<div class="document">{link}'
        f'<p class="text-label"><em>{escape(first.label)} ({escape(first.language)})</em></p>'
        f'{translated}<details class="original-text"><summary>{escape(first.original_label)} '
        f"({escape(first.original_language)})</summary>{original}</details></div>"
    )
