"""The document model: numbered paragraphs with sentences and raw-text spans.

Paragraph boundaries come from layout, not from phrases: a paragraph starts on a
line that begins with a capital after a line that ends a sentence. Everything up to
and including the block that introduces the conclusions (it ends with ":") is the
cover note, paragraph 0; the blocks after it are paragraphs 1..n.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from dataclasses import dataclass as plain_dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from pydantic.dataclasses import dataclass

from index.cleaning import (
    CLEANING_VERSION,
    Errata,
    RawLine,
    join_hyphenated,
    load_errata,
    raw_lines,
    strip_footnote_markers,
)

__all__ = [
    "Document",
    "Paragraph",
    "Sentence",
    "join_sentences",
    "load_document",
    "parse_document",
    "split_sentences",
]

_SENTENCE_END = re.compile(r"[.:!?]$")
# Inside merged text: a full stop (or ! ?) followed by a space and a capital.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý\"“(])")
# A heading is a line clearly shorter than the text width with no closing mark.
_HEADING_WIDTH = 0.85


# Sentences and paragraphs are slotted (validating) dataclasses, not models: a model
# instance carries a dict and a set of its own, and a 100,000-paragraph document held
# 300 MiB of them against about 85 MiB this way.
@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a paragraph; offsets index the paragraph's clean text."""

    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A numbered unit of the document (0 = cover note)."""

    number: int
    text: str
    sentences: tuple[Sentence, ...]
    raw_start: int
    raw_end: int


class Document(BaseModel):
    """A cleaned document with the hash of its raw source."""

    model_config = ConfigDict(frozen=True)

    title: str
    source_sha256: str
    cleaning_version: str
    paragraphs: tuple[Paragraph, ...]

    def paragraph(self, number: int) -> Paragraph:
        """Return paragraph ``number``; raise KeyError naming the valid range."""
        for paragraph in self.paragraphs:
            if paragraph.number == number:
                return paragraph
        raise KeyError(
            f"there is no paragraph {number}; this document has paragraphs "
            f"0-{self.paragraphs[-1].number}"
        )

    @property
    def fingerprint(self) -> str:
        """What the index depends on: the source and the cleaning rules."""
        return f"{self.source_sha256[:16]}-c{self.cleaning_version}"


@plain_dataclass
class _Block:
    lines: list[RawLine]


def _is_heading(line: str, following: str, width: float) -> bool:
    """A short line with no closing mark, followed by a line starting with a capital."""
    return (
        not _SENTENCE_END.search(line)
        and not line.endswith(("-", ","))
        and len(line) < width * _HEADING_WIDTH
        and following[:1].isupper()
    )


def _blocks(lines: list[RawLine]) -> list[_Block]:
    blocks: list[_Block] = []
    previous = ""
    for line in lines:
        text = line.stripped
        if not text:
            continue
        starts_new = not blocks or (bool(_SENTENCE_END.search(previous)) and text[0].isupper())
        if starts_new:
            blocks.append(_Block([line]))
        else:
            blocks[-1].lines.append(line)
        previous = text
    return blocks


def _segments(block: _Block, width: float) -> list[str]:
    """Merge a block's lines into segments, breaking after headings."""
    segments: list[list[str]] = [[]]
    texts = [line.stripped for line in block.lines if line.stripped]
    for text, following in zip(texts, [*texts[1:], ""], strict=True):
        segments[-1].append(text)
        if _is_heading(text, following, width):
            segments.append([])
    return [join_hyphenated(s) for s in segments if s]


def split_sentences(segments: list[str]) -> tuple[str, tuple[Sentence, ...]]:
    """A paragraph's text and sentences from its segments (a segment never shares a sentence)."""
    pieces: list[str] = []
    for segment in segments:
        pieces.extend(p.strip() for p in _SENTENCE_SPLIT.split(segment) if p.strip())
    return join_sentences(pieces)


def join_sentences(pieces: list[str]) -> tuple[str, tuple[Sentence, ...]]:
    """A paragraph's text from its sentences, each with its offsets in that text."""
    sentences: list[Sentence] = []
    text = ""
    for index, piece in enumerate(pieces):
        if text:
            text += " "
        sentences.append(
            Sentence(index=index, text=piece, start=len(text), end=len(text) + len(piece))
        )
        text += piece
    return text, tuple(sentences)


def parse_document(raw: str, errata: Errata, title: str = "") -> Document:
    """Clean ``raw`` and split it into numbered paragraphs."""
    lines = raw_lines(raw)
    lengths = [len(line.stripped) for line in lines if line.stripped]
    if not lengths:
        raise ValueError("the document is empty")
    width = statistics.quantiles(lengths, n=10)[-1] if len(lengths) > 1 else lengths[0]
    blocks = _blocks(lines)
    # The cover note runs up to the block that introduces the conclusions.
    intro_end = next((i for i, b in enumerate(blocks) if b.lines[-1].stripped.endswith(":")), 0)
    groups = [blocks[: intro_end + 1]] + [[b] for b in blocks[intro_end + 1 :]]
    paragraphs: list[Paragraph] = []
    for number, group in enumerate(groups):
        segments = [
            errata.apply(strip_footnote_markers(segment))
            for block in group
            for segment in _segments(block, width)
        ]
        text, sentences = split_sentences(segments)
        paragraphs.append(
            Paragraph(
                number=number,
                text=text,
                sentences=sentences,
                raw_start=group[0].lines[0].start,
                raw_end=group[-1].lines[-1].end,
            )
        )
    return Document(
        title=title,
        source_sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        cleaning_version=CLEANING_VERSION
        + "-"
        + hashlib.sha256(repr(errata.fixes).encode()).hexdigest()[:8],
        paragraphs=tuple(paragraphs),
    )


def load_document(path: Path, errata_path: Path | None) -> Document:
    """Read and clean a plain-text document; errata are optional."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"document not found: {path}") from None
    errata = load_errata(errata_path) if errata_path else Errata(())
    return parse_document(raw, errata, title=path.stem)
