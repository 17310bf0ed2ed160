"""The commands that make files for review (enrich, translate, feedback, audit) or serve
other clients (mcp); ``assistant.cli`` parses them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.cli_support import EXIT_ERROR, CliError, service_of, settings_of

__all__ = [
    "cmd_audit_export",
    "cmd_enrich",
    "cmd_feedback_export",
    "cmd_mcp",
    "cmd_translate",
]


def _with_llm(args: argparse.Namespace, command: str) -> Any:
    """The settings, when they name an LLM server; a usage error saying what to set if not."""
    settings = settings_of(args)
    if not settings.llm.enabled:
        raise CliError(
            f"{command} needs an OpenAI-compatible server: set ASSISTANT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8000/v1) and ASSISTANT_LLM_MODEL"
        )
    return settings


def cmd_enrich(args: argparse.Namespace) -> int:
    from assistant.llm import ChatClient, LLMError
    from assistant.llm.enrich import enrich, write_questions
    from index.document import load_document

    settings = _with_llm(args, "enrich")
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

    settings = _with_llm(args, "translate")
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
        lines = feedback_candidates(settings_of(args))
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
        lines = audit_lines(settings_of(args), parse_since(args.since))
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
    service, _ = service_of(args)  # stdout is the protocol's: nothing else is printed there
    try:
        build_mcp(lambda: service, service.settings.document_title).run("stdio")
    finally:
        service.close()
    return 0
