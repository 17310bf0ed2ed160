"""``assistant translate``: the configured LLM makes a language version, for review.

Paragraph by paragraph, sentence by sentence: each paragraph's sentences go to the model
numbered, one a line, and come back the same way. A reply with one sentence per original
sentence is written as ``{"paragraph": n, "sentences": [...]}`` (aligned by sentence);
any other reply as ``{"paragraph": n, "text": "..."}`` (aligned as a whole). Numbers and
names are checked against the original and every mismatch is reported for the reviewer:
the file is never used unseen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.llm.client import ChatClient, Fault, LLMError, chat_messages
from assistant.text import numbers
from index.document import Document, Paragraph
from prompts.llm import TranslatePrompt, load_translate_prompt

__all__ = ["Translated", "names", "translate", "write_version"]

_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.+?)\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Names that no translation changes: inner capitals (WannaCry, NotPetya) and acronyms of
# four letters or more (UNGGE). Shorter acronyms are translated (ICT -> TIC, VN -> UN).
_NAME = re.compile(r"\b(?:[A-Z][a-z]+[A-Z]\w*|[A-Z]{4,})\b")


def names(text: str) -> set[str]:
    """The names in ``text`` a translation must keep as they are."""
    return set(_NAME.findall(text))


@dataclass(frozen=True)
class Translated:
    """One paragraph's translation and what the checks found in it."""

    paragraph: int
    sentences: tuple[str, ...]
    aligned: bool  # one sentence per sentence of the original
    problems: tuple[str, ...]

    def line(self) -> dict[str, object]:
        """Its line of the version file."""
        if self.aligned:
            return {"paragraph": self.paragraph, "sentences": list(self.sentences)}
        return {"paragraph": self.paragraph, "text": " ".join(self.sentences)}


def _read(reply: str, expected: int) -> tuple[tuple[str, ...], bool]:
    lines = [_CONTROL.sub(" ", line).strip() for line in reply.splitlines() if line.strip()]
    numbered = [_NUMBERED.match(line) for line in lines]
    if len(lines) == expected and all(numbered):
        order = [int(m.group(1)) for m in numbered if m]
        if order == list(range(1, expected + 1)):
            return tuple(m.group(2) for m in numbered if m), True
    # Any other shape: the text as given (markers dropped), aligned as a whole.
    return tuple(m.group(2) if m else line for m, line in zip(numbered, lines, strict=True)), False


def _check(original: Paragraph, sentences: Sequence[str], aligned: bool) -> tuple[str, ...]:
    problems: list[str] = []
    text = " ".join(sentences)
    if not text.strip():
        return (f"§{original.number}: the reply was empty",)
    if not aligned:
        problems.append(
            f"§{original.number}: {len(sentences)} lines for {len(original.sentences)} "
            "sentences; written as one text (aligned as a whole)"
        )
    for label, found in (("number", numbers), ("name", names)):
        lost = sorted(found(original.text) - found(text))
        added = sorted(found(text) - found(original.text))
        if lost:
            problems.append(f"§{original.number}: {label}s missing: {', '.join(lost)}")
        if added:
            problems.append(f"§{original.number}: {label}s not in the original: {', '.join(added)}")
    return tuple(problems)


def translate(
    document: Document,
    client: ChatClient,
    language_name: str,
    *,
    prompt: TranslatePrompt | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Translated]:
    """Every paragraph of ``document`` in ``language_name``, checked.

    Raises:
        LLMError: the model could not be reached, or replied with nothing for a paragraph.
    """
    prompt = prompt or load_translate_prompt()
    done: list[Translated] = []
    for count, paragraph in enumerate(document.paragraphs, 1):
        texts = [s.text for s in paragraph.sentences]
        reply = client.invoke(chat_messages(prompt.render(paragraph.number, texts, language_name)))
        sentences, aligned = _read(reply, len(texts))
        if not sentences:
            raise LLMError(Fault("empty", f"no translation of paragraph {paragraph.number}"))
        done.append(
            Translated(paragraph.number, sentences, aligned, _check(paragraph, sentences, aligned))
        )
        if progress:
            progress(count, len(document.paragraphs))
    return done


def write_version(translated: Sequence[Translated], path: Path, *, force: bool) -> None:
    """Write the version file; FileExistsError rather than overwrite a reviewed one."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; a reviewed file is not overwritten (use --force)")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(t.line(), ensure_ascii=False) for t in translated]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
