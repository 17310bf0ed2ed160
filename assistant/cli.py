"""The ``assistant`` command: ask, chat, paragraphs, show, index, add, documents, remove,
enrich, translate, feedback, audit, eval, serve."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from assistant.cli_library import library_commands
from assistant.cli_support import EXIT_ERROR, CliError, service_of, settings_of
from assistant.cli_tools import (
    cmd_audit_export,
    cmd_enrich,
    cmd_feedback_export,
    cmd_mcp,
    cmd_translate,
)

__all__ = ["main"]


def _load_history(path: str | None) -> list[Any]:
    if not path:
        return []
    from assistant.result import Turn

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return TypeAdapter(list[Turn]).validate_python(raw)
    except FileNotFoundError:
        raise CliError(f"history file not found: {path}") from None
    except (json.JSONDecodeError, ValidationError) as error:
        raise CliError(
            f'{path}: expected a JSON list of {{"role": "user"|"assistant", '
            f'"content": ...}} objects ({error.__class__.__name__}: {str(error)[:200]})'
        ) from error


def _print_result(result: Any, as_json: bool, titled: bool = False) -> None:
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    print(result.answer)
    if result.abstained:
        return
    if titled and result.document_title:
        print(f"\n({result.document_title})")
    for citation in result.citations:
        print(f"\n[§{citation.paragraph}] {citation.text}")


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.service import QuestionError

    history = _load_history(args.history)
    service, _ = service_of(args, quiet=args.json)
    try:
        result = service.ask(args.question, history, documents=args.document)
    except QuestionError as error:
        raise CliError(str(error)) from error
    _print_result(result, args.json, titled=len(service.documents()) > 1)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.result import Turn
    from assistant.service import QuestionError

    service, _ = service_of(args)
    history: list[Turn] = []
    print("Ask about the conclusions (empty line or Ctrl-D to stop).")
    while True:
        try:
            question = input("> ")
        except EOFError:
            print()
            return 0
        if not question.strip():
            return 0
        try:
            result = service.ask(question, history)
        except QuestionError as error:
            print(f"error: {error}", file=sys.stderr)
            continue
        print(result.answer)
        history += [
            Turn(role="user", content=result.question),
            Turn(role="assistant", content=result.answer),
        ]


def cmd_paragraphs(args: argparse.Namespace) -> int:
    from index.document import load_document

    settings = settings_of(args)
    document = load_document(settings.document_path, settings.errata_path)
    for paragraph in document.paragraphs:
        text = paragraph.text if len(paragraph.text) <= 100 else paragraph.text[:97] + "..."
        print(f"§{paragraph.number}  {text}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from index.document import Paragraph, load_document

    settings = settings_of(args)
    document = load_document(settings.document_path, settings.errata_path)
    try:
        number = int(args.number.lstrip("§"))
        paragraph = document.paragraph(number)
    except ValueError:
        raise CliError(f"'{args.number}' is not a paragraph number") from None
    except KeyError as error:
        raise CliError(str(error.args[0])) from None
    if args.json:
        print(TypeAdapter(Paragraph).dump_json(paragraph, indent=2).decode())
    else:
        print(f"§{paragraph.number}\n{paragraph.text}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    _, report = service_of(args, rebuild=args.rebuild)
    state = f"built ({report.reason})" if report.built else "up to date"
    embedded = f" ({report.embedded} new or changed texts embedded)" if report.built else ""
    print(f"index {state}: {report.entries} entries{embedded}, {report.seconds:.2f} s")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ui.web.server import serve
    except ImportError as error:
        raise CliError(
            f"the web extra is needed: pip install '.[web]' ({error})", EXIT_ERROR
        ) from error
    serve(settings_of(args))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Cited answers over EU Council conclusions, offline.",
    )
    parser.add_argument("--data-dir", help="index directory (default: ASSISTANT_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the full result as JSON")
    ask.add_argument("--history", help="JSON file with earlier turns [{role, content}, ...]")
    ask.add_argument(
        "--document",
        action="append",
        help="answer from this document only (its id, see 'assistant documents'); repeatable",
    )
    ask.set_defaults(func=cmd_ask)

    commands.add_parser("chat", help="a conversation in the terminal").set_defaults(func=cmd_chat)
    commands.add_parser("paragraphs", help="list the paragraphs").set_defaults(func=cmd_paragraphs)

    show = commands.add_parser("show", help="print one paragraph")
    show.add_argument("number")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    index = commands.add_parser("index", help="build the index unless it is current")
    index.add_argument("--rebuild", action="store_true", help="build even when current")
    index.set_defaults(func=cmd_index)
    library_commands(commands)

    enrich = commands.add_parser(
        "enrich", help="have the LLM write the questions each paragraph answers (for review)"
    )
    enrich.add_argument("--out", required=True, help="JSONL file to write")
    enrich.add_argument("--per-paragraph", type=int, default=12, help="questions per paragraph")
    enrich.add_argument(
        "--languages", default="nl,en,de,fr", help="comma-separated languages of the questions"
    )
    enrich.add_argument("--force", action="store_true", help="overwrite an existing file")
    enrich.set_defaults(func=cmd_enrich)

    translate = commands.add_parser(
        "translate", help="have the LLM make a language version of the document (for review)"
    )
    translate.add_argument("--to", required=True, help="language code, e.g. en, fr, de, es")
    translate.add_argument("--out", help="JSONL file to write (default: <document>.<lang>.jsonl)")
    translate.add_argument("--force", action="store_true", help="overwrite an existing file")
    translate.set_defaults(func=cmd_translate)

    feedback = commands.add_parser("feedback", help="readers' ratings of answers")
    feedback_commands = feedback.add_subparsers(dest="action", required=True)
    feedback_export = feedback_commands.add_parser(
        "export", help="write the rated answers as candidate gold lines, for review"
    )
    feedback_export.add_argument("--gold", required=True, help="JSONL file to write")
    feedback_export.add_argument("--force", action="store_true", help="overwrite the file")
    feedback_export.set_defaults(func=cmd_feedback_export)

    audit = commands.add_parser("audit", help="the audit trail (ASSISTANT_AUDIT=true)")
    audit_commands = audit.add_subparsers(dest="action", required=True)
    audit_export = audit_commands.add_parser("export", help="print the trail as JSON lines")
    audit_export.add_argument("--since", help="from this date (ISO, e.g. 2026-12-01)")
    audit_export.set_defaults(func=cmd_audit_export)

    commands.add_parser(
        "mcp", help="serve the assistant as an MCP tool server over stdio"
    ).set_defaults(func=cmd_mcp)

    serve = commands.add_parser("serve", help="start the web page and HTTP API")
    serve.add_argument("--host", help="interface to listen on (default: ASSISTANT_WEB_HOST)")
    serve.add_argument("--port", type=int, help="TCP port (default: ASSISTANT_WEB_PORT)")
    serve.add_argument(
        "--root-path", help="path prefix behind a reverse proxy (default: ASSISTANT_WEB_ROOT_PATH)"
    )
    serve.set_defaults(func=cmd_serve)

    commands.add_parser(
        "eval", help="evaluate on gold files (see 'assistant eval --help')", add_help=False
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assistant`` command."""
    from assistant.settings import offline_environment

    offline_environment()
    logging.basicConfig(level=logging.WARNING, format="assistant: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    # 'eval' owns its options (see assistant.evaluation.cli); hand the rest over unparsed.
    if argv[:1] == ["eval"]:
        from assistant.evaluation.cli import main as eval_main

        return eval_main(argv[1:])
    args = _parser().parse_args(argv)
    from index.clients import IndexError_

    try:
        status: int = args.func(args)
    except CliError as error:
        print(f"assistant: error: {error}", file=sys.stderr)
        return error.status
    except IndexError_ as error:  # the index or the embeddings server failed mid-command
        print(f"assistant: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
