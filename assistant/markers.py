"""Citation markers in answer text ("[§4]", "[§4, §5]", "[§4][§5]") and answer sentences.

Shared by the service (paragraphs an earlier answer cited), the evaluation (sentences an
answer cites) and the LLM's citation verification (markers checked sentence by sentence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import fold

__all__ = ["MARKER_RUN", "Piece", "SentenceSplitter", "cited_numbers", "strip_markers"]

_NUMBER_LIST = r"§+\s*\d+(?:\s*(?:,|;|&|and|en|und|et)\s*§*\s*\d+)*"
_MARKER = re.compile(r"\[\s*" + _NUMBER_LIST + r"\s*\]", re.IGNORECASE)
# A run of markers with the space before it, rendered again as one: ' [§4][§5]'.
MARKER_RUN = re.compile(r"(?:[ \t]*\[\s*" + _NUMBER_LIST + r"\s*\])+", re.IGNORECASE)
# A sentence ends at . ! or ? (closing quotes and trailing markers included), then a
# gap, then anything but an opening bracket (which would be a marker after the stop).
_BOUNDARY = re.compile(r"[.!?][\"”’)]*(?:\s*\[[^\]\n]*\])*(?P<gap>[ \t]+)(?=[^\s\[])")
_WORD_BEFORE = re.compile(r"(\w+)$")
_ABBREVIATIONS = frozenset(("bijv", "bv", "d", "e", "g", "i", "nr", "art", "vgl", "ca", "resp",
    "zgn", "etc", "mr", "dr", "vs", "bzw", "z", "b", "usw", "ggf", "abs", "par", "cf"))  # fmt: skip
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def cited_numbers(text: str) -> list[int]:
    """Paragraph numbers of the markers in ``text``, in order, without repeats."""
    found = (int(n) for marker in _MARKER.findall(text) for n in re.findall(r"\d+", marker))
    return list(dict.fromkeys(found))


def strip_markers(text: str) -> str:
    """``text`` without its markers, spaces before punctuation tidied."""
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER_RUN.sub("", text)).strip()


@dataclass(frozen=True)
class Piece:
    """One sentence of an answer, with the line it is on and that line's list prefix."""

    text: str
    line: int
    prefix: str = ""


class SentenceSplitter:
    """Splits text fed in chunks into sentences, each given once it is complete."""

    def __init__(self) -> None:
        self._buffer = ""
        self._line = 0
        self._prefix = ""
        self._line_open = False

    def _piece(self, text: str) -> Piece | None:
        if not self._line_open:
            self._line_open = True
            match = _LIST_PREFIX.match(text)
            self._prefix = match.group().strip() + " " if match else ""
            text = text[match.end() :] if match else text
        text = text.strip()
        return Piece(text, self._line, self._prefix) if text else None

    def _boundary(self, segment: str) -> re.Match[str] | None:
        for match in _BOUNDARY.finditer(segment):
            before = _WORD_BEFORE.search(segment[: match.start()])
            word = before.group(1) if before else ""
            # '16. April', 'z. B.', 'art. 5' and a list's '1.' do not end a sentence.
            if (word.isdigit() and len(word) <= 2) or fold(word) in _ABBREVIATIONS:
                continue
            return match
        return None

    def feed(self, text: str) -> list[Piece]:
        """The sentences completed by ``text``."""
        self._buffer += text
        pieces: list[Piece | None] = []
        while True:
            newline = self._buffer.find("\n")
            segment = self._buffer if newline < 0 else self._buffer[:newline]
            match = self._boundary(segment)
            if match:
                pieces.append(self._piece(segment[: match.start("gap")]))
                self._buffer = self._buffer[match.end() :]
            elif newline >= 0:
                pieces.append(self._piece(segment))
                self._buffer = self._buffer[newline + 1 :]
                self._line, self._line_open = self._line + 1, False
            else:
                break
        return [p for p in pieces if p is not None]

    def finish(self) -> list[Piece]:
        """The last sentence, complete or not."""
        rest, self._buffer = self._buffer, ""
        piece = self._piece(rest) if rest.strip() else None
        return [piece] if piece else []
