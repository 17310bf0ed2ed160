"""One kept answer, or a conversation, as Markdown or JSON: with its sources, to file or mail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from assistant.answers import StoredAnswer
from assistant.result import AnswerResult

__all__ = ["answer_json", "answer_markdown", "conversation_markdown"]


def _when(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _sources(result: AnswerResult) -> list[str]:
    lines: list[str] = []
    for citation in result.citations:
        cited = " ".join(s.text for s in citation.sentences)
        lines += ["", f"**§{citation.paragraph}**, cited: {cited}", "", _quote(citation.text)]
        if citation.version is not None:
            version = citation.version
            quoted = " ".join(s.text for s in version.sentences)
            lines += ["", f"{version.label} ({version.language}): {quoted}"]
    return lines


def answer_markdown(stored: StoredAnswer, document: str) -> str:
    """The answer with its question, every citation's paragraph and cited sentence, the
    document and its date, the answerer or model, and the time.

    Args:
        document: the configured document's title; an answer from another document of the
            library names its own.
    """
    result = stored.result
    document = result.document_title or document
    lines = [
        f"# {result.question}",
        "",
        result.answer,
        "",
        "---",
        f"- Document: {document}",
        f"- Answered: {_when(stored.created)} by {stored.answerer}",
        f"- Answer id: {stored.id}",
    ]
    if result.abstained:
        lines.append("- Not in the document; nearest paragraphs: "
                     + ", ".join(f"§{n}" for n in result.suggestions))  # fmt: skip
    if result.citations:
        lines += ["", "## Sources", *_sources(result)]
    return "\n".join(lines) + "\n"


def answer_json(stored: StoredAnswer, document: str) -> dict[str, Any]:
    """The same as JSON: the kept answer with the document's name."""
    data: dict[str, Any] = stored.model_dump(mode="json")
    data["document"] = stored.result.document_title or document
    data["answered"] = _when(stored.created)
    return data


def conversation_markdown(turns: Sequence[tuple[str, AnswerResult | None]], document: str) -> str:
    """A whole conversation: each question with its answer and sources."""
    lines = [f"# {document}", ""]
    for question, result in turns:
        lines += [f"## {question}", ""]
        if result is None:
            lines += ["(no answer)", ""]
            continue
        source = result.document_title
        named = [f"From: {source}", ""] if source and source != document else []
        lines += [*named, result.answer, *_sources(result), ""]
    return "\n".join(lines)
