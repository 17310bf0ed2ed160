"""Load the LLM prompts in ``prompts/`` into validated models and render them.

``answer.toml`` and ``rewrite.toml`` are checked on load: unknown keys, a missing key,
a template that misses a variable or uses an unknown one all raise ValueError naming
the file, so a broken prompt stops the start-up instead of a conversation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from prompts.templates import exactly, load_toml, no_variables, prompts_dir

__all__ = [
    "AnswerPrompt",
    "EnrichPrompt",
    "LanguageTexts",
    "Rendered",
    "RewritePrompt",
    "load_answer_prompt",
    "load_enrich_prompt",
    "load_rewrite_prompt",
    "neutralise",
]

# Our delimiters; '<' of any of them in data becomes '&lt;' so data cannot close a block.
_TAG = re.compile(
    r"<(?=\s*/?\s*(?:document|translation|paragraph|question|history|turn)\b)", re.IGNORECASE
)


def neutralise(text: str) -> str:
    """``text`` with every opening or closing delimiter tag made inert."""
    return _TAG.sub("&lt;", text)


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt: the system message (the rules) and the user message (the data)."""

    system: str
    user: str


class _Templates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    VARIABLES: ClassVar[dict[str, set[str]]] = {}

    @model_validator(mode="after")
    def _check_variables(self) -> _Templates:
        for field, expected in self.VARIABLES.items():
            exactly(getattr(self, field), expected, field)
        return self


class LanguageTexts(BaseModel):
    """The name of a language and the notices shown above an offline answer in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    unavailable: str
    unverified: str
    interrupted: str

    @field_validator("name", "unavailable", "unverified", "interrupted")
    @classmethod
    def _plain(cls, value: str) -> str:
        return no_variables(value)


class AnswerPrompt(_Templates):
    """The answer prompt: rules, one paragraph block, the user message; texts per language."""

    VARIABLES: ClassVar[dict[str, set[str]]] = {
        "system": {"language_name", "abstain"},
        "document": {"number", "text"},
        "version": {"language", "label", "text"},
        "user": {"documents", "question"},
    }

    system: str
    document: str
    version: str
    user: str
    fallback: str = "en"
    languages: dict[str, LanguageTexts]

    @model_validator(mode="after")
    def _fallback_present(self) -> AnswerPrompt:
        if self.fallback not in self.languages:
            raise ValueError(f"the fallback language '{self.fallback}' is missing")
        return self

    def texts(self, language: str) -> LanguageTexts:
        """The texts of ``language``, or of the fallback language."""
        return self.languages.get(language) or self.languages[self.fallback]

    def render(
        self,
        question: str,
        language: str,
        paragraphs: Sequence[tuple[int, str]],
        abstain: str,
        versions: Sequence[tuple[str, str, str]] = (),
    ) -> Rendered:
        """The messages for ``question`` over ``paragraphs`` ((number, text) pairs).

        Args:
            versions: each paragraph's rendering in the question's language, as
                (language, label, text), in the order of ``paragraphs``; empty for none.
        """
        rendered = [neutralise(text) for _, text in paragraphs]
        for i, (language, label, text) in enumerate(versions):
            rendered[i] += "\n" + self.version.format(
                language=language, label=label, text=neutralise(text)
            )
        documents = "\n\n".join(
            self.document.format(number=number, text=text)
            for (number, _), text in zip(paragraphs, rendered, strict=True)
        )
        return Rendered(
            system=self.system.format(language_name=self.texts(language).name, abstain=abstain),
            user=self.user.format(documents=documents, question=neutralise(question)),
        )


class RewritePrompt(_Templates):
    """The follow-up rewrite prompt: rules, one conversation turn, the user message."""

    VARIABLES: ClassVar[dict[str, set[str]]] = {
        "system": set(),
        "turn": {"role", "content"},
        "user": {"history", "question"},
    }

    system: str
    turn: str
    user: str

    def render(
        self, question: str, history: Sequence[tuple[Literal["user", "assistant"], str]]
    ) -> Rendered:
        """The messages for rewriting ``question`` given ``history`` ((role, content) pairs)."""
        turns = "\n".join(
            self.turn.format(role=role, content=neutralise(content)) for role, content in history
        )
        return Rendered(
            system=self.system, user=self.user.format(history=turns, question=neutralise(question))
        )


class EnrichPrompt(_Templates):
    """The enrichment prompt: the questions one paragraph answers (``assistant enrich``)."""

    VARIABLES: ClassVar[dict[str, set[str]]] = {
        "system": {"count", "languages"},
        "user": {"number", "text"},
    }

    system: str
    user: str

    def render(self, number: int, text: str, count: int, languages: Sequence[str]) -> Rendered:
        """The messages asking for ``count`` questions paragraph ``number`` answers."""
        return Rendered(
            system=self.system.format(count=count, languages=", ".join(languages)),
            user=self.user.format(number=number, text=neutralise(text)),
        )


class TranslatePrompt(_Templates):
    """The translation prompt: one paragraph, sentence by sentence (``assistant translate``)."""

    VARIABLES: ClassVar[dict[str, set[str]]] = {
        "system": {"language_name"},
        "user": {"number", "sentences"},
    }

    system: str
    user: str

    def render(self, number: int, sentences: Sequence[str], language_name: str) -> Rendered:
        """The messages asking for paragraph ``number``'s ``sentences`` in ``language_name``."""
        lines = "\n".join(f"{i}. {neutralise(text)}" for i, text in enumerate(sentences, 1))
        return Rendered(
            system=self.system.format(language_name=language_name),
            user=self.user.format(number=number, sentences=lines),
        )


def load_answer_prompt(path: Path | None = None) -> AnswerPrompt:
    """Read ``answer.toml``; raise ValueError naming the file on any problem."""
    return load_toml(path or prompts_dir() / "answer.toml", AnswerPrompt)


def load_rewrite_prompt(path: Path | None = None) -> RewritePrompt:
    """Read ``rewrite.toml``; raise ValueError naming the file on any problem."""
    return load_toml(path or prompts_dir() / "rewrite.toml", RewritePrompt)


def load_enrich_prompt(path: Path | None = None) -> EnrichPrompt:
    """Read ``enrich.toml``; raise ValueError naming the file on any problem."""
    return load_toml(path or prompts_dir() / "enrich.toml", EnrichPrompt)


def load_translate_prompt(path: Path | None = None) -> TranslatePrompt:
    """Read ``translate.toml``; raise ValueError naming the file on any problem."""
    return load_toml(path or prompts_dir() / "translate.toml", TranslatePrompt)
