"""``assistant enrich``: the configured LLM writes the questions each paragraph answers.

The result is a file for review, never used unseen: a person reads it, fixes or drops
lines, and only then points ``ASSISTANT_QUESTIONS_PATH`` at it. Each line is checked on
the way out (a question, not an empty line or a list marker; its language detected).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.llm.client import ChatClient, chat_messages
from assistant.text import detect_language, has_surrogate
from index.document import Document
from index.enrichment import ParagraphQuestion
from prompts.llm import EnrichPrompt, load_enrich_prompt

__all__ = ["DEFAULT_LANGUAGES", "enrich", "write_questions"]

DEFAULT_LANGUAGES = ("nl", "en", "de", "fr")
_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|q\d*[:.])\s*", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _questions(reply: str, number: int) -> list[ParagraphQuestion]:
    found: list[ParagraphQuestion] = []
    seen: set[str] = set()
    for line in reply.splitlines():
        text = _CONTROL.sub(" ", _MARKER.sub("", line)).strip().strip("\"'“”«»")
        if len(text) < 8 or len(text) > 300 or has_surrogate(text) or text.lower() in seen:
            continue
        seen.add(text.lower())
        found.append(ParagraphQuestion(paragraph=number, lang=detect_language(text), question=text))
    return found


def enrich(
    document: Document,
    client: ChatClient,
    *,
    per_paragraph: int = 12,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    prompt: EnrichPrompt | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ParagraphQuestion]:
    """The questions the model writes for every paragraph of ``document``.

    Raises:
        LLMError: the model could not be reached or gave no usable reply.
    """
    prompt = prompt or load_enrich_prompt()
    questions: list[ParagraphQuestion] = []
    for done, paragraph in enumerate(document.paragraphs, 1):
        rendered = prompt.render(paragraph.number, paragraph.text, per_paragraph, languages)
        reply = client.invoke(chat_messages(rendered))
        questions += _questions(reply, paragraph.number)
        if progress:
            progress(done, len(document.paragraphs))
    return questions


def write_questions(questions: Sequence[ParagraphQuestion], path: Path, *, force: bool) -> None:
    """Write the JSONL file; FileExistsError rather than overwrite a reviewed file."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; a reviewed file is not overwritten (use --force)")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(q.model_dump(), ensure_ascii=False) for q in questions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
