"""The texts a claim is weighed against, prepared once: vectors, words and quotable text.

The original's are built by the verifier; a language version's (``VersionUnits``) here,
so that a claim in that language is weighed against that version in its own language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.text import fold, prefixes, words
from index.embedders import Embedder
from index.versions import DocumentVersion

__all__ = ["VersionUnits", "unit", "verbatim"]


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def verbatim(text: str) -> str:
    """Text compared for quoting: folded, the OCR's and the model's spacing evened out."""
    return " ".join(re.findall(r"\w+", fold(text)))


@dataclass(frozen=True)
class VersionUnits:
    """A language version as the verifier weighs claims in its language against it."""

    units: dict[int, list[tuple[int, list[float]]]]  # sentence index (-1: whole) -> vector
    sentences: dict[tuple[int, int], str]  # (paragraph, original sentence) -> its rendering
    words: dict[int, set[str]]
    stems: dict[int, frozenset[str]]
    verbatim: dict[int, str]

    @classmethod
    def of(cls, version: DocumentVersion, embedder: Embedder) -> VersionUnits:
        units: dict[int, list[tuple[int, list[float]]]] = {}
        sentences: dict[tuple[int, int], str] = {}
        for paragraph in version.paragraphs:
            # Only a sentence aligned with the original's can stand for it; otherwise the
            # version's paragraph counts as a whole.
            own = [(s.index, s.text) for s in paragraph.sentences] if paragraph.aligned else []
            texts = [(i, t) for i, t in own] + [(-1, paragraph.text)]
            units[paragraph.number] = [(i, unit(embedder.embed_query(t))) for i, t in texts]
            sentences.update({(paragraph.number, i): t for i, t in own})
        words_of = {p.number: words(p.text) for p in version.paragraphs}
        return cls(
            units=units,
            sentences=sentences,
            words=words_of,
            stems={n: prefixes(ws) for n, ws in words_of.items()},
            verbatim={p.number: verbatim(p.text) for p in version.paragraphs},
        )
