"""What the page needs from the assistant: the one port its callbacks call."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Protocol

from assistant import AnswerResult, Paragraph, ParagraphVersion, StoredAnswer, Turn

__all__ = ["AssistantPort"]


class AssistantPort(Protocol):
    """What the page needs from the assistant."""

    def ask_stream(
        self, question: str, history: Sequence[Turn] = ()
    ) -> Generator[str | AnswerResult, None, None]: ...

    def paragraphs(self) -> list[Paragraph]: ...

    def paragraph(self, number: int) -> Paragraph: ...

    def paragraph_version(self, number: int, language: str) -> ParagraphVersion: ...

    def stored(self, answer_id: str) -> StoredAnswer | None: ...

    def languages(self) -> list[str]: ...
