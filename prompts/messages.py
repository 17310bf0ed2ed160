"""The offline answerer's fixed texts per language (``messages.toml``), validated on load."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, RootModel, field_validator

from prompts.templates import exactly, load_toml, no_variables, prompts_dir

__all__ = ["MessageBook", "Messages", "load_messages"]


class Messages(BaseModel):
    """The offline answerer's fixed texts in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abstain: str
    suggest: str
    quoting: str
    instruction: str  # the short refusal of an instruction posing as a question
    # Quoting a language version in the asker's language: the line above the quotes, the
    # version's label (nominative: it also heads the pane), and the original's label.
    version_quoting: str
    translation: str
    official: str
    original: str

    @field_validator("abstain", "instruction", "translation", "official", "original")
    @classmethod
    def _plain(cls, value: str) -> str:
        return no_variables(value)

    @field_validator("quoting")
    @classmethod
    def _plain_or_empty(cls, value: str) -> str:
        return no_variables(value) if value else value

    @field_validator("suggest")
    @classmethod
    def _paragraphs_only(cls, value: str) -> str:
        return exactly(value, {"paragraphs"}, "suggest")

    @field_validator("version_quoting")
    @classmethod
    def _label_only(cls, value: str) -> str:
        return exactly(value, {"label"}, "version_quoting")

    def version_line(self, status: str) -> str:
        """The line above quotes from a version: its label, capitalised, first."""
        label = self.official if status == "official" else self.translation
        return self.version_quoting.format(label=label[:1].upper() + label[1:])

    def label(self, status: str) -> str:
        """A version's label as shown beside its text."""
        return self.official if status == "official" else self.translation


class MessageBook(BaseModel):
    """Messages per language, with a fallback language."""

    model_config = ConfigDict(frozen=True)

    languages: dict[str, Messages]
    fallback: str = "en"

    def for_language(self, language: str) -> Messages:
        return self.languages.get(language) or self.languages[self.fallback]


class _MessageFile(RootModel[dict[str, Messages]]):
    """``messages.toml``: one table of messages per language code."""


def load_messages(path: Path | None = None) -> MessageBook:
    """Read ``messages.toml``; raise ValueError naming the file on any problem."""
    path = path or prompts_dir() / "messages.toml"
    book = MessageBook(languages=load_toml(path, _MessageFile).root)
    if book.fallback not in book.languages:
        raise ValueError(f"{path}: the fallback language '{book.fallback}' is missing")
    return book
