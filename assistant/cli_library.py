"""The library's commands: ``add``, ``documents`` and ``remove``; ``assistant.cli`` parses them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from assistant.cli_support import EXIT_ERROR, CliError, indexing_progress, settings_of

__all__ = ["cmd_add", "cmd_documents", "cmd_remove", "library_commands"]


def cmd_add(args: argparse.Namespace) -> int:
    from assistant.library import add_document
    from index.clients import IndexError_
    from index.library import LibraryError

    settings = settings_of(args)
    try:
        with indexing_progress() as progress:
            entry, report = add_document(
                settings,
                Path(args.file),
                id=args.id,
                title=args.title,
                date=args.date,
                language=args.language,
                progress=progress,
            )
    except LibraryError as error:
        raise CliError(str(error), EXIT_ERROR) from error
    except IndexError_ as error:
        raise CliError(f"{error}; the library is unchanged", EXIT_ERROR) from error
    print(
        f"added '{entry.id}': {entry.paragraphs} paragraphs (0-{entry.paragraphs - 1}), "
        f"{report.entries} entries indexed in {report.seconds:.1f} s; a running server "
        "takes it up within seconds"
    )
    return 0


def cmd_documents(args: argparse.Namespace) -> int:
    from assistant.result import DocumentInfo
    from index.document import load_document
    from index.library import Library, LibraryError

    settings = settings_of(args)
    document = load_document(settings.document_path, settings.errata_path)
    listed = [DocumentInfo.configured(settings, document)]
    try:
        entries = Library(settings.library_dir).entries()
    except LibraryError as error:
        raise CliError(str(error), EXIT_ERROR) from error
    listed += [DocumentInfo.added_as(entry) for entry in entries]
    if args.json:
        print(json.dumps([d.model_dump() for d in listed], ensure_ascii=False, indent=2))
        return 0
    for info in listed:
        print(
            f"{info.id}\t{info.date or '-'}\t{info.language}\t"
            f"{info.paragraphs} paragraphs\t{info.title}"
        )
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from assistant.library import remove_document
    from index.library import LibraryError

    try:
        entry = remove_document(settings_of(args), args.id)
    except LibraryError as error:
        raise CliError(str(error), EXIT_ERROR) from error
    print(f"removed '{entry.id}' ({entry.title}) and its index")
    return 0


def library_commands(commands: Any) -> None:
    """Add the library's commands to the ``assistant`` parser's subcommands."""
    add = commands.add_parser("add", help="add a document (plain text or PDF) to the library")
    add.add_argument("file", help="the conclusions' layout as plain text, or a PDF with text")
    add.add_argument("--id", help="its id (default: from the file name)")
    add.add_argument("--title", help="its title (default: the file name)")
    add.add_argument("--date", help="its date, YYYY-MM-DD")
    add.add_argument("--language", help="its language (default: ASSISTANT_DOCUMENT_LANGUAGE)")
    add.set_defaults(func=cmd_add)

    documents = commands.add_parser("documents", help="list the documents, one line each")
    documents.add_argument("--json", action="store_true", help="print them as JSON")
    documents.set_defaults(func=cmd_documents)

    remove = commands.add_parser("remove", help="take a document out of the library")
    remove.add_argument("id")
    remove.set_defaults(func=cmd_remove)
