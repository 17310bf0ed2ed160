"""The ``assistant`` command: ask, chat, paragraphs, show, index, enrich, translate, feedback,
audit, eval, serve."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_ERROR = 1


class CliError(Exception):
    """A user-facing error: printed as one line, exit status attached."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def _settings(args: argparse.Namespace) -> Any:
    from assistant.settings import load_settings

    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    web = {
        key: value
        for key in ("host", "port", "root_path")
        if (value := getattr(args, key, None)) is not None
    }
    if web:  # merged into ASSISTANT_WEB_*: the command line's address wins
        overrides["web"] = web
    try:
        return load_settings(**overrides)
    except ValidationError as error:
        raise CliError(f"invalid settings: {error}") from error


def _service(args: argparse.Namespace, *, rebuild: bool = False, quiet: bool = False) -> Any:
    from assistant.compose import build_assistant
    from index.store import IndexError_

    settings = _settings(args)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="indexing", unit="entry", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        built = build_assistant(settings, progress=progress, rebuild=rebuild)
    except (IndexError_, FileNotFoundError, ValueError) as error:
        raise CliError(str(error), EXIT_ERROR) from error
    finally:
        if bar is not None:
            bar.close()
    report = built.report
    if report.built and not quiet:
        print(f"index built ({report.reason}) in {report.seconds:.1f} s", file=sys.stderr)
    return built.service, report


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


def _print_result(result: Any, as_json: bool) -> None:
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    print(result.answer)
    if result.abstained:
        return
    for citation in result.citations:
        print(f"\n[§{citation.paragraph}] {citation.text}")


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.service import QuestionError

    history = _load_history(args.history)
    service, _ = _service(args, quiet=args.json)
    try:
        result = service.ask(args.question, history)
    except QuestionError as error:
        raise CliError(str(error)) from error
    _print_result(result, args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.result import Turn
    from assistant.service import QuestionError

    service, _ = _service(args)
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

    settings = _settings(args)
    document = load_document(settings.document_path, settings.errata_path)
    for paragraph in document.paragraphs:
        text = paragraph.text if len(paragraph.text) <= 100 else paragraph.text[:97] + "..."
        print(f"§{paragraph.number}  {text}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from index.document import load_document

    settings = _settings(args)
    document = load_document(settings.document_path, settings.errata_path)
    try:
        number = int(args.number.lstrip("§"))
        paragraph = document.paragraph(number)
    except ValueError:
        raise CliError(f"'{args.number}' is not a paragraph number") from None
    except KeyError as error:
        raise CliError(str(error.args[0])) from None
    if args.json:
        print(paragraph.model_dump_json(indent=2))
    else:
        print(f"§{paragraph.number}\n{paragraph.text}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    _, report = _service(args, rebuild=args.rebuild)
    state = f"built ({report.reason})" if report.built else "up to date"
    print(f"index {state}: {report.entries} entries, {report.seconds:.2f} s")
    return 0


def cmd_enrich(args: argparse.Namespace) -> int:
    from assistant.llm import ChatClient, LLMError
    from assistant.llm.enrich import enrich, write_questions
    from index.document import load_document

    settings = _settings(args)
    if not settings.llm.enabled:
        raise CliError(
            "enrich needs an OpenAI-compatible server: set ASSISTANT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8000/v1) and ASSISTANT_LLM_MODEL"
        )
    out = Path(args.out)
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; a reviewed file is not overwritten (use --force)")
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    document = load_document(settings.document_path, settings.errata_path)
    client = ChatClient(settings.llm)
    try:
        questions = enrich(document, client, per_paragraph=args.per_paragraph, languages=languages)
    except LLMError as error:
        raise CliError(f"the model gave no usable reply: {error}", EXIT_ERROR) from error
    finally:
        client.close()
    write_questions(questions, out, force=args.force)
    print(
        f"{len(questions)} questions for {len(document.paragraphs)} paragraphs in {out}; "
        f"review them, then set ASSISTANT_QUESTIONS_PATH={out}"
    )
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from assistant.llm import ChatClient, LLMError
    from assistant.llm.translate import translate, write_version
    from index.document import load_document
    from prompts.llm import load_answer_prompt

    settings = _settings(args)
    if not settings.llm.enabled:
        raise CliError(
            "translate needs an OpenAI-compatible server: set ASSISTANT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8000/v1) and ASSISTANT_LLM_MODEL"
        )
    language = args.to.strip().lower()
    names = load_answer_prompt().languages
    if language not in names:
        raise CliError(f"no language '{language[:8]}'; known: {', '.join(sorted(names))}")
    if language == settings.document_language:
        raise CliError(f"'{language}' is the document's own language")
    out = Path(args.out or f"{settings.document_path.stem}.{language}.jsonl")
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; a reviewed file is not overwritten (use --force)")
    document = load_document(settings.document_path, settings.errata_path)
    client = ChatClient(settings.llm)
    try:
        translated = translate(document, client, names[language].name)
    except LLMError as error:
        raise CliError(f"the model gave no usable reply: {error}", EXIT_ERROR) from error
    finally:
        client.close()
    write_version(translated, out, force=args.force)
    problems = [p for t in translated for p in t.problems]
    for problem in problems:
        print(f"check: {problem}", file=sys.stderr)
    aligned = sum(t.aligned for t in translated)
    print(
        f"{len(translated)} paragraphs in {out} ({aligned} aligned by sentence, "
        f"{len(problems)} problems to check); review it against the original, then set "
        f"ASSISTANT_DOCUMENT_VERSIONS={language}:{out}"
    )
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from assistant.answers import StoreError
    from assistant.records import feedback_candidates

    out = Path(args.gold)
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; a reviewed file is not overwritten (use --force)")
    try:
        lines = feedback_candidates(_settings(args))
    except StoreError as error:
        raise CliError(f"the answer store cannot be read: {error}", EXIT_ERROR) from error
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(
        f"{len(lines)} candidate gold lines in {out}; review them (rated-down ones need their "
        f"paragraphs), then check: assistant eval --check {out}"
    )
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    from assistant.answers import StoreError
    from assistant.records import audit_lines, parse_since

    try:
        lines = audit_lines(_settings(args), parse_since(args.since))
    except ValueError as error:
        raise CliError(str(error)) from None
    except StoreError as error:
        raise CliError(f"the answer store cannot be read: {error}", EXIT_ERROR) from error
    for line in lines:
        print(line)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    try:
        from ui.mcp import build_mcp
    except ImportError as error:
        raise CliError(
            f"the web extra is needed: pip install '.[web]' ({error})", EXIT_ERROR
        ) from error
    service, _ = _service(args)  # stdout is the protocol's: nothing else is printed there
    try:
        build_mcp(lambda: service, service.settings.document_title).run("stdio")
    finally:
        service.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ui.web.server import serve
    except ImportError as error:
        raise CliError(
            f"the web extra is needed: pip install '.[web]' ({error})", EXIT_ERROR
        ) from error
    serve(_settings(args))
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
    try:
        status: int = args.func(args)
    except CliError as error:
        print(f"assistant: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
