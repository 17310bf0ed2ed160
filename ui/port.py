"""What the page needs from the assistant: the one port its callbacks call."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Protocol

from assistant import AnswerResult, DocumentInfo, Paragraph, ParagraphVersion, StoredAnswer, Turn

__all__ = ["AssistantPort", "library_key"]


class AssistantPort(Protocol):
    """What the page needs from the assistant."""

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        documents: Sequence[str] | None = None,
    ) -> Generator[str | AnswerResult, None, None]: ...

    def documents(self) -> list[DocumentInfo]: ...

    def paragraphs(self, document: str | None = None) -> list[Paragraph]: ...

    def paragraph(self, number: int, document: str | None = None) -> Paragraph: ...

    def paragraph_version(self, number: int, language: str) -> ParagraphVersion: ...

    def stored(self, answer_id: str) -> StoredAnswer | None: ...

    def languages(self) -> list[str]: ...


def library_key(port: AssistantPort) -> str | None:
    """The configured document's id when the assistant answers from a library, else None:
    answers then name their document, and the chips of another carry its id."""
    documents = port.documents()
    return documents[0].id if len(documents) > 1 else None
