"""Adding documents to the library and removing them: the file, its index, the catalogue.

A document is parsed, then its index is built, and only then is it written into the
catalogue: an add that fails at any step leaves the library (and what replicas answer
from) as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.compose import build_embedder, chroma_client, library_index
from assistant.settings import Settings
from index.embedders import Embedder
from index.library import Library, LibraryEntry
from index.store import IndexReport

__all__ = ["add_document", "remove_document"]


def add_document(
    settings: Settings,
    path: Path,
    *,
    id: str | None = None,
    title: str | None = None,
    date: str | None = None,
    language: str | None = None,
    embedder: Embedder | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[LibraryEntry, IndexReport]:
    """Add the document in ``path`` to the library and build its index.

    Raises:
        LibraryError: the file cannot be read or parsed, or the id is taken.
        IndexError_: the index could not be built (the library is unchanged).
    """
    library = Library(settings.library_dir)
    addition = library.prepare(
        path,
        id=id,
        title=title,
        date=date,
        language=language or settings.document_language,
        taken=frozenset({settings.document_key}),
    )
    embedder = embedder or build_embedder(settings)
    client = client if client is not None else chroma_client(settings)
    index = library_index(settings, client, embedder, addition.entry.id)
    try:
        report = index.ensure(addition.document, rebuild=True, progress=progress)
        library.commit(addition)
    except BaseException:
        index.drop()
        raise
    finally:
        index.close()
    return addition.entry, report


def remove_document(
    settings: Settings,
    ident: str,
    *,
    embedder: Embedder | None = None,
    client: Any = None,
) -> LibraryEntry:
    """Take ``ident`` out of the library and delete its index.

    Raises:
        LibraryError: no such document in the library (the configured one is a setting).
    """
    if ident == settings.document_key:
        from index.library import LibraryError

        raise LibraryError(
            f"'{ident}' is the configured document (ASSISTANT_DOCUMENT_PATH); it cannot be "
            "removed from the library"
        )
    entry = Library(settings.library_dir).remove(ident)
    client = client if client is not None else chroma_client(settings)
    index = library_index(settings, client, embedder or build_embedder(settings), ident)
    index.drop()
    index.close()
    return entry
