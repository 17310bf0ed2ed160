"""Language versions of a document, aligned with the original by paragraph number.

The original owns the paragraph numbers; the Council publishes its conclusions in every
official language with the same numbers. A version is a plain-text file in the original's
layout (parsed by the same rules) or JSONL, a line per paragraph:
``{"paragraph": n, "text": "..."}`` or ``{"paragraph": n, "sentences": ["...", ...]}``.
A version paragraph with as many sentences as the original's is aligned sentence by
sentence (sentence i with sentence i); otherwise it is aligned as a whole.

A version whose numbering differs from the original's is refused with the file and the
paragraph named: nothing half-aligned is ever served.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from index.cleaning import Errata
from index.document import Document, Sentence, join_sentences, parse_document, split_sentences

__all__ = [
    "DocumentVersion",
    "Status",
    "VersionError",
    "VersionParagraph",
    "VersionSpec",
    "Versions",
    "load_versions",
    "parse_version_specs",
]

Status = Literal["official", "unofficial translation"]
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_MAX_BYTES = 4 * 2**20  # a version is a document's text, not a dump


class VersionError(ValueError):
    """A version that cannot be served: the message names the file and the paragraph."""


class VersionParagraph(BaseModel):
    """A paragraph of a version, numbered as the original's."""

    model_config = ConfigDict(frozen=True)

    number: int
    text: str
    sentences: tuple[Sentence, ...]
    aligned: bool = Field(description="Sentence i is the original's sentence i.")

    def counterpart(self, original: Iterable[int]) -> tuple[Sentence, ...]:
        """The sentences that render the original's sentences ``original`` (all when the
        paragraph is aligned as a whole)."""
        if not self.aligned:
            return self.sentences
        wanted = set(original)
        return tuple(s for s in self.sentences if s.index in wanted)


class DocumentVersion(BaseModel):
    """The document in another language, paragraph by paragraph."""

    model_config = ConfigDict(frozen=True)

    language: str
    status: Status
    source: str = Field(description="The file's name.")
    sha256: str
    paragraphs: tuple[VersionParagraph, ...]

    def paragraph(self, number: int) -> VersionParagraph:
        """Paragraph ``number``; KeyError when the version has none (never, once loaded)."""
        for paragraph in self.paragraphs:
            if paragraph.number == number:
                return paragraph
        raise KeyError(f"the {self.language} version has no paragraph {number}")


class VersionSpec(BaseModel):
    """A version named in the settings: ``lang:path`` or ``lang:official:path``."""

    model_config = ConfigDict(frozen=True)

    language: str
    status: Status = "unofficial translation"
    path: Path


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    paragraph: int = Field(ge=0)
    text: str | None = Field(default=None, max_length=100_000)
    sentences: list[str] | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_form(self) -> _Line:
        if (self.text is None) == (self.sentences is None):
            raise ValueError("give either 'text' or 'sentences'")
        return self


@dataclass(frozen=True)
class Versions:
    """The original's language and its versions by language, with what the index records."""

    original: str = "nl"
    by_language: tuple[DocumentVersion, ...] = ()

    def get(self, language: str) -> DocumentVersion | None:
        """The version in ``language``, or None (also for the original's own language)."""
        return next((v for v in self.by_language if v.language == language), None)

    def __iter__(self) -> Iterator[DocumentVersion]:
        return iter(self.by_language)

    def __len__(self) -> int:
        return len(self.by_language)

    @property
    def sha256(self) -> str:
        """What the index depends on: every version's language, status and text."""
        if not self.by_language:
            return "none"
        joined = "\0".join(f"{v.language}:{v.status}:{v.sha256}" for v in self.by_language)
        return hashlib.sha256(joined.encode()).hexdigest()

    @property
    def languages(self) -> list[str]:
        return [v.language for v in self.by_language]


def parse_version_specs(value: str) -> list[VersionSpec]:
    """``"en:a.jsonl,fr:official:b.txt"`` -> specs; ValueError naming the bad entry."""
    specs: list[VersionSpec] = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        language, _, rest = entry.partition(":")
        status: Status = "unofficial translation"
        for word, named in (("official:", "official"), ("unofficial:", "unofficial translation")):
            if rest.startswith(word):
                status, rest = named, rest[len(word) :]  # type: ignore[assignment]
        if not _LANGUAGE.match(language) or not rest:
            raise ValueError(
                f"not a language version: {entry[:80]!r}; expected 'lang:path' or "
                "'lang:official:path', e.g. 'en:versions/en.jsonl'"
            )
        specs.append(VersionSpec(language=language, status=status, path=Path(rest)))
    languages = [s.language for s in specs]
    doubled = sorted({lang for lang in languages if languages.count(lang) > 1})
    if doubled:
        raise ValueError(f"more than one version for: {', '.join(doubled)}")
    return specs


def _from_jsonl(raw: str, where: str) -> list[tuple[int, str, tuple[Sentence, ...]]]:
    rows: list[tuple[int, str, tuple[Sentence, ...]]] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = _Line.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as error:
            raise VersionError(f"{where}:{number}: {str(error).splitlines()[0]}") from None
        if item.sentences is not None:
            text, sentences = join_sentences([s.strip() for s in item.sentences if s.strip()])
        else:
            text, sentences = split_sentences([item.text or ""])
        rows.append((item.paragraph, text, sentences))
    return rows


def _from_text(raw: str, where: str) -> list[tuple[int, str, tuple[Sentence, ...]]]:
    try:
        parsed = parse_document(raw, Errata(()))
    except ValueError as error:
        raise VersionError(f"{where}: {error}") from None
    return [(p.number, p.text, p.sentences) for p in parsed.paragraphs]


def _load(spec: VersionSpec, document: Document) -> DocumentVersion:
    where = str(spec.path)
    try:
        data = spec.path.read_bytes()
    except OSError as error:
        raise VersionError(f"{where}: cannot read the {spec.language} version ({error})") from None
    if len(data) > _MAX_BYTES:
        raise VersionError(f"{where}: larger than {_MAX_BYTES // 2**20} MiB")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise VersionError(f"{where}: not UTF-8 text ({error.reason})") from None
    read = _from_jsonl if spec.path.suffix == ".jsonl" else _from_text
    rows = read(raw, where)
    expected = [p.number for p in document.paragraphs]
    seen: dict[int, tuple[str, tuple[Sentence, ...]]] = {}
    for number, text, sentences in rows:
        if number in seen:
            raise VersionError(f"{where}: paragraph {number} appears twice")
        if number not in expected:
            raise VersionError(
                f"{where}: paragraph {number} is not in the original, which has paragraphs "
                f"{expected[0]}-{expected[-1]}"
            )
        if not text.strip():
            raise VersionError(f"{where}: paragraph {number} is empty")
        seen[number] = (text, sentences)
    missing = [n for n in expected if n not in seen]
    if missing:
        raise VersionError(
            f"{where}: paragraph {missing[0]} is missing ({len(seen)} paragraphs, the original "
            f"has {len(expected)}); a version must number its paragraphs as the original does"
        )
    paragraphs = tuple(
        VersionParagraph(
            number=p.number,
            text=seen[p.number][0],
            sentences=seen[p.number][1],
            aligned=len(seen[p.number][1]) == len(p.sentences),
        )
        for p in document.paragraphs
    )
    return DocumentVersion(
        language=spec.language,
        status=spec.status,
        source=spec.path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        paragraphs=paragraphs,
    )


def load_versions(specs: Iterable[VersionSpec], document: Document, original: str) -> Versions:
    """Load and check every version; the first one that does not fit raises VersionError."""
    versions: list[DocumentVersion] = []
    for spec in specs:
        if spec.language == original:
            raise VersionError(f"{spec.path}: '{original}' is the original's own language")
        versions.append(_load(spec, document))
    return Versions(original, tuple(versions))
