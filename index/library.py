"""The library: the documents added beside the configured one, as data in the data directory.

``data_dir/library/catalogue.json`` lists them (id, title, date, language, the source's
hash); each document's cleaned-from text sits beside it as ``<id>.txt``, so the library
is rebuilt the same way on every start. A file joins the library only when it parses into
numbered paragraphs; the catalogue is written last and atomically, so a failed add leaves
the library as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index.cleaning import Errata
from index.clients import build_lock
from index.document import Document, parse_document

__all__ = ["Addition", "Library", "LibraryEntry", "LibraryError", "parse_numbered", "read_source"]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_MAX_BYTES = 20 * 2**20  # a document of conclusions is tens of kilobytes


class LibraryError(ValueError):
    """A document cannot be added or removed; the message says why."""


class LibraryEntry(BaseModel):
    """One document of the library (the configured document is listed apart)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID.pattern)
    title: str
    date: str | None = None
    language: str
    source_sha256: str
    paragraphs: int
    added: str


@dataclass(frozen=True)
class Addition:
    """A document read and parsed, not yet in the library."""

    entry: LibraryEntry
    document: Document
    text: str
    taken: frozenset[str]


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[LibraryEntry] = Field(default_factory=list)


def read_source(path: Path) -> str:
    """The text of a plain-text or PDF file; LibraryError saying why it cannot be read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LibraryError(f"{path}: no such file") from None
    if size > _MAX_BYTES:
        raise LibraryError(f"{path}: {size / 2**20:.1f} MiB is more than a document of conclusions")
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        return _pdf_text(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LibraryError(
            f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8 plain text or PDF"
        ) from None


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as error:
        raise LibraryError(f"{path}: the PDF cannot be read ({error})") from error
    text = "\n".join(pages)
    if not text.strip():
        raise LibraryError(
            f"{path}: the PDF has no text layer (a scan?); run OCR on it first and add the text"
        )
    return text


def parse_numbered(text: str, source: str) -> Document:
    """``text`` as a document of numbered paragraphs; LibraryError saying why it is not one."""
    try:
        document = parse_document(text, Errata(()), title=source)
    except ValueError as error:
        raise LibraryError(f"{source}: {error}") from error
    cover = document.paragraphs[0].text
    if not cover.rstrip().endswith(":"):
        raise LibraryError(
            f"{source}: no block ending with ':' introduces numbered paragraphs, as in the "
            "conclusions' layout (a cover note, a line such as 'The Council adopted the "
            "following conclusions:', then one paragraph per block)"
        )
    if len(document.paragraphs) < 2:
        raise LibraryError(f"{source}: no paragraphs follow the introduction ending with ':'")
    return document


class Library:
    """The documents in ``root`` (``data_dir/library``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def catalogue(self) -> Path:
        """The catalogue's file (it changes whenever a document is added or removed)."""
        return self.root / "catalogue.json"

    def entries(self) -> list[LibraryEntry]:
        """The documents, in the order they were added; LibraryError for a corrupt catalogue."""
        try:
            raw = self.catalogue.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            return _Catalogue.model_validate_json(raw).documents
        except ValidationError as error:
            raise LibraryError(
                f"the library's catalogue {self.catalogue} is corrupt: {str(error).splitlines()[0]}"
            ) from error

    def document(self, entry: LibraryEntry) -> Document:
        """The parsed document of ``entry``."""
        path = self.root / f"{entry.id}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LibraryError(f"the library lacks the text of '{entry.id}': {path}") from None
        document = parse_numbered(text, entry.id)
        return document.model_copy(update={"title": entry.title})

    def prepare(
        self,
        path: Path,
        *,
        id: str | None = None,
        title: str | None = None,
        date: str | None = None,
        language: str = "nl",
        taken: frozenset[str] = frozenset(),
    ) -> Addition:
        """Read and parse ``path`` as a document to add; LibraryError saying why it cannot be.

        Args:
            taken: ids already in use outside the library (the configured document's).
        """
        ident = id or re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:63]
        if not _ID.match(ident):
            raise LibraryError(
                f"'{ident}' cannot be a document id: use 2-63 lower-case letters, digits and '-'"
            )
        if date is not None:
            try:
                dt.date.fromisoformat(date)
            except ValueError:
                raise LibraryError(f"'{date}' is not a date as YYYY-MM-DD") from None
        self._check_free(ident, taken)
        text = read_source(path)
        document = parse_numbered(text, str(path))
        entry = LibraryEntry(
            id=ident,
            title=(title or path.stem).strip()[:300] or ident,
            date=date,
            language=language,
            source_sha256=document.source_sha256,
            paragraphs=len(document.paragraphs),
            added=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        return Addition(entry, document.model_copy(update={"title": entry.title}), text, taken)

    def commit(self, addition: Addition) -> None:
        """Write a prepared document into the library (its text, then the catalogue)."""
        with self._locked():
            self._check_free(addition.entry.id, addition.taken)
            _write(self.root / f"{addition.entry.id}.txt", addition.text)
            self._save([*self.entries(), addition.entry])

    def _check_free(self, ident: str, taken: frozenset[str]) -> None:
        if ident in taken or any(e.id == ident for e in self.entries()):
            raise LibraryError(
                f"there is already a document '{ident}'; choose another id with --id"
            )

    def remove(self, ident: str) -> LibraryEntry:
        """Take ``ident`` out of the library; LibraryError naming the ids when unknown."""
        with self._locked():
            entries = self.entries()
            found = next((e for e in entries if e.id == ident), None)
            if found is None:
                known = ", ".join(e.id for e in entries) or "none added"
                raise LibraryError(f"the library holds no document '{ident}' (documents: {known})")
            self._save([e for e in entries if e.id != ident])
            with contextlib.suppress(FileNotFoundError):
                (self.root / f"{ident}.txt").unlink()
        return found

    def _save(self, entries: list[LibraryEntry]) -> None:
        _write(self.catalogue, _Catalogue(documents=entries).model_dump_json(indent=2))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with build_lock(self.root, "library.lock"):
            yield


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
