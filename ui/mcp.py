"""The assistant as a Model Context Protocol server (the official ``mcp`` SDK).

Tools: ``ask`` (a question, optionally the earlier turns; the answer's text and its
citations as structured content) and ``paragraph`` (one paragraph's text, in the original
or a language version). Resource: the whole document, numbered. Served over stdio
(``assistant mcp``) and over streamable HTTP at ``/mcp`` on the web app, behind the same
access control, rate and body limits as the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import anyio
from pydantic import BaseModel, Field

from assistant import AnswerResult, Paragraph, ParagraphVersion, QuestionError, Turn

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["AskResult", "McpPort", "build_mcp"]

DOCUMENT_URI = "document://conclusions"


class McpPort(Protocol):
    """What the MCP tools need of the assistant (the service, or the web app's shared one)."""

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, request_id: str = ""
    ) -> AnswerResult: ...

    def paragraphs(self) -> list[Paragraph]: ...

    def paragraph(self, number: int) -> Paragraph: ...

    def paragraph_version(self, number: int, language: str) -> ParagraphVersion: ...

    def languages(self) -> list[str]: ...


class HistoryTurn(BaseModel):
    """An earlier turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class CitedParagraph(BaseModel):
    """A paragraph the answer cites: its number, the sentences quoted, its whole text."""

    paragraph: int
    cited: list[str]
    text: str
    version_language: str | None = None
    version_cited: list[str] = Field(default_factory=list)


class AskResult(BaseModel):
    """The answer with its [§n] markers, whether it abstained, and what it cites."""

    answer: str
    abstained: bool
    citations: list[CitedParagraph]
    answer_id: str
    language: str


def _result(result: AnswerResult) -> AskResult:
    return AskResult(
        answer=result.answer,
        abstained=result.abstained,
        answer_id=result.id,
        language=result.language,
        citations=[
            CitedParagraph(
                paragraph=c.paragraph,
                cited=[s.text for s in c.sentences],
                text=c.text,
                version_language=c.version.language if c.version else None,
                version_cited=[s.text for s in c.version.sentences] if c.version else [],
            )
            for c in result.citations
        ],
    )


def build_mcp(port: Callable[[], McpPort], title: str) -> MCPServer:
    """The MCP server over ``port()`` (called per request: the web app's may still load)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server: MCPServer = MCPServer(
        name="policy-assistant",
        instructions=(
            f"Answers questions about one document, {title}, quoting it with [§n] citations to "
            "its numbered paragraphs, or says that the document does not answer."
        ),
    )

    @server.tool(
        description=(
            "Ask a question about the document, in any of the 24 official EU languages. "
            "Returns the answer with [§n] markers and the cited paragraphs, or an abstention."
        )
    )
    async def ask(question: str, history: list[HistoryTurn] | None = None) -> AskResult:
        turns = [Turn(role=t.role, content=t.content) for t in history or []]
        try:
            answered = await anyio.to_thread.run_sync(lambda: port().ask(question, turns))
        except QuestionError as error:  # an empty, over-long or binary question
            raise ToolError(str(error)) from None
        return _result(answered)

    @server.tool(
        description=(
            "One numbered paragraph of the document (0 is the cover note), in the original "
            "or, with language, in a language version (e.g. 'en')."
        )
    )
    async def paragraph(number: int, language: str | None = None) -> str:
        service = port()
        try:
            if language and language != service.languages()[0]:
                found = service.paragraph_version(number, language)
                return f"§{number} ({found.label}, {found.language})\n{found.text}"
            return f"§{number}\n{service.paragraph(number).text}"
        except KeyError as error:
            raise ToolError(str(error.args[0])) from None

    @server.resource(DOCUMENT_URI, name="document", description=title, mime_type="text/plain")
    def document() -> str:
        return "\n\n".join(f"§{p.number} {p.text}" for p in port().paragraphs())

    return server
