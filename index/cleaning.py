"""Reproducible cleaning of OCR'd conclusions: errata, footnote markers, hyphenation.

The raw file is never changed. Cleaning works line by line so that every cleaned
paragraph can still point back to the raw span it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLEANING_VERSION",
    "Errata",
    "RawLine",
    "join_hyphenated",
    "load_errata",
    "raw_lines",
    "strip_footnote_markers",
]

# Bump whenever a rule below changes what the cleaned text looks like: the index
# records it and rebuilds on a change.
CLEANING_VERSION = "3"

# OCR renders footnote references as an apostrophe followed by exclamation marks
# ("cyberactiviteiten'!!,"); a real apostrophe ("ICT's") is never followed by "!".
_FOOTNOTE = re.compile(r"['\u2019`]!+|(?<=\w)!{2,}")

# A word broken across a line: lower-case letters, a hyphen at the line end, and
# the rest starting with a lower-case letter on the next line. "informatie- en"
# (a hyphen followed by a space) and "EU-" (capital before the hyphen) are kept.
_BROKEN_WORD = re.compile(r"(?<=[a-zà-ÿ])-$")


@dataclass(frozen=True)
class RawLine:
    """One line of the raw document with its character span."""

    text: str
    start: int
    end: int

    @property
    def stripped(self) -> str:
        return self.text.strip()


@dataclass(frozen=True)
class Errata:
    """Reviewed word-level OCR corrections."""

    fixes: tuple[tuple[str, str], ...]

    def apply(self, text: str) -> str:
        for wrong, right in self.fixes:
            text = re.sub(rf"(?<!\w){re.escape(wrong)}(?!\w)", right, text)
        return text


def load_errata(path: Path) -> Errata:
    """Read an errata file: ``wrong<TAB>right`` per line, ``#`` comments."""
    fixes: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{path}:{number}: expected 'wrong<TAB>right', got {line!r}")
        fixes.append((parts[0], parts[1]))
    return Errata(tuple(fixes))


def raw_lines(raw: str) -> list[RawLine]:
    """Split the raw text into lines that remember their offsets."""
    lines: list[RawLine] = []
    start = 0
    for piece in raw.splitlines(keepends=True):
        body = piece.rstrip("\r\n")
        lines.append(RawLine(body, start, start + len(body)))
        start += len(piece)
    return lines


def strip_footnote_markers(text: str) -> str:
    """Remove OCR footnote references such as ``'!!``."""
    return _FOOTNOTE.sub("", text)


def join_hyphenated(pieces: list[str]) -> str:
    """Join line texts with spaces, undoing hyphenation at line breaks.

    ``buiten-`` + ``lands`` becomes ``buitenlands``; ``informatie- en`` keeps its
    hyphen because the hyphen is not at the end of a line.
    """
    out = ""
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if out and _BROKEN_WORD.search(out) and piece[0].islower():
            out = out[:-1] + piece
        elif out:
            out = f"{out} {piece}"
        else:
            out = piece
    return re.sub(r"\s+", " ", out)
