"""Load the texts in ``prompts/`` into validated models (unknown keys or variables fail)."""

from __future__ import annotations

import string
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["Messages", "MessageBook", "load_messages", "prompts_dir"]


def prompts_dir() -> Path:
    """The project's ``prompts/`` folder (shipped beside the packages)."""
    return Path(__file__).resolve().parent.parent / "prompts"


def _variables(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class Messages(BaseModel):
    """The offline answerer's fixed texts in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abstain: str
    suggest: str
    quoting: str

    @field_validator("abstain", "quoting")
    @classmethod
    def _no_variables(cls, value: str) -> str:
        if _variables(value):
            raise ValueError(f"takes no variables, found {sorted(_variables(value))}")
        return value

    @field_validator("suggest")
    @classmethod
    def _paragraphs_only(cls, value: str) -> str:
        if _variables(value) != {"paragraphs"}:
            raise ValueError(f"must use exactly {{paragraphs}}, found {sorted(_variables(value))}")
        return value


class MessageBook(BaseModel):
    """Messages per language, with a fallback language."""

    model_config = ConfigDict(frozen=True)

    languages: dict[str, Messages]
    fallback: str = "en"

    def for_language(self, language: str) -> Messages:
        return self.languages.get(language) or self.languages[self.fallback]


def load_messages(path: Path | None = None) -> MessageBook:
    """Read ``messages.toml``; raise ValueError naming the file on any problem."""
    path = path or prompts_dir() / "messages.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        book = MessageBook(languages={k: Messages(**v) for k, v in data.items()})
    except (OSError, tomllib.TOMLDecodeError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: {error}") from error
    if book.fallback not in book.languages:
        raise ValueError(f"{path}: the fallback language '{book.fallback}' is missing")
    return book
