"""An OpenAI-compatible chat endpoint, for the front ends intranets already run.

Open WebUI, LibreChat and any OpenAI client talk to "a model" over ``POST
/v1/chat/completions``; here the model is the assistant. The conversation's earlier turns
are its history (a client's system message is not an instruction to it: it is ignored),
the reply's content is the answer with its ``[§n]`` markers, and the structured citations
travel in extra fields of the message that standard clients ignore. Abstentions are
ordinary replies. What it cannot do (tools, several choices, images) is a 400 with
OpenAI's error object, never a 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Generator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from assistant import AnswerResult, QuestionError, Turn
from ui.web.logs import current_request_id, note
from ui.web.routes import MAX_TURNS, Service

__all__ = ["MODEL", "router"]

MODEL = "policy-assistant"
router = APIRouter()


class OpenAIError(Exception):
    """A request the endpoint refuses, as OpenAI's clients expect it."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "message": str(self),
                "type": "invalid_request_error",
                "param": self.param,
                "code": None,
            }
        }
        return JSONResponse(body, status_code=self.status)


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat request that matter here; others are accepted and unused."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL
    messages: list[_Message] = Field(min_length=1, max_length=MAX_TURNS)
    stream: bool = False
    n: int = 1
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None


def _text(message: _Message, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts = []
    for part in message.content:
        if part.get("type") != "text":
            raise OpenAIError(
                f"messages[{index}] holds a '{part.get('type')}' part; only text is supported",
                f"messages[{index}].content",
            )
        parts.append(str(part.get("text", "")))
    return "".join(parts)


def _conversation(body: ChatRequest) -> tuple[str, list[Turn]]:
    if body.n != 1:
        raise OpenAIError("only one choice (n = 1) is supported", "n")
    for name in ("tools", "functions", "tool_choice"):
        if getattr(body, name):
            raise OpenAIError(f"'{name}' is not supported: the assistant calls no tools", name)
    turns: list[Turn] = []
    for index, message in enumerate(body.messages):
        if message.role in ("tool", "function"):
            raise OpenAIError(f"messages[{index}]: tool messages are not supported", "messages")
        if message.role not in ("user", "assistant"):
            continue  # a client's system message does not steer the assistant
        role: Literal["user", "assistant"] = "user" if message.role == "user" else "assistant"
        try:
            turns.append(Turn(role=role, content=_text(message, index)))
        except ValidationError as error:
            raise OpenAIError(
                f"messages[{index}]: {error.errors()[0]['msg']}", "messages"
            ) from None
    if not turns or turns[-1].role != "user":
        raise OpenAIError("the last message must be the user's question", "messages")
    return turns[-1].content, turns[:-1]


def _extra(result: AnswerResult) -> dict[str, Any]:
    """The structured answer, in fields standard clients ignore."""
    return {
        "citations": [c.model_dump(mode="json") for c in result.citations],
        "support": [s.model_dump(mode="json") for s in result.support],
        "abstained": result.abstained,
        "answer_id": result.id,
        "language": result.language,
        "quote_language": result.quote_language,
    }


def _completion(result: AnswerResult, created: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{result.id}",
        "object": "chat.completion",
        "created": created,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.answer, **_extra(result)},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(answer_id: str, created: int, delta: dict[str, Any], finish: str | None) -> str:
    chunk = {
        "id": f"chatcmpl-{answer_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


async def _chunks(pieces: Generator[str | AnswerResult, None, None]) -> AsyncIterator[str]:
    created = int(time.time())
    stream_id = f"{time.time_ns():x}"
    yield _chunk(stream_id, created, {"role": "assistant", "content": ""}, None)
    try:
        while (item := await run_in_threadpool(next, pieces, None)) is not None:
            if isinstance(item, AnswerResult):
                note(abstained=item.abstained, cited=item.cited_paragraphs, language=item.language)
                yield _chunk(stream_id, created, _extra(item), "stop")
            elif item:
                yield _chunk(stream_id, created, {"content": item}, None)
    except Exception as error:  # the stream has begun: report in-band, as OpenAI does
        note(error=type(error).__name__)
        failure = {"error": {"message": f"{type(error).__name__}: {error}", "type": "server_error"}}
        yield f"data: {json.dumps(failure)}\n\n"
    finally:
        pieces.close()
    yield "data: [DONE]\n\n"


@router.get("/v1/models", tags=["openai"])
def models() -> dict[str, Any]:
    """The one model this endpoint serves."""
    return {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "policy-assistant"}],
    }


@router.post("/v1/chat/completions", tags=["openai"], response_model=None)
async def chat_completions(request: Request, service: Service) -> JSONResponse | StreamingResponse:
    """Answer the conversation's last user message, OpenAI-style (``stream`` too)."""
    try:
        try:
            body = ChatRequest.model_validate(await request.json())
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise OpenAIError(f"{where}: {first['msg']}", where or None) from None
        except ValueError:
            raise OpenAIError("the body is not JSON") from None
        question, history = _conversation(body)
        note(question=question)
        request_id = current_request_id()
        if body.stream:
            pieces = service.ask_stream(question, history, request_id=request_id)
            return StreamingResponse(
                _chunks(pieces),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
        result = await run_in_threadpool(
            lambda: service.ask(question, history, request_id=request_id)
        )
    except QuestionError as error:
        return OpenAIError(str(error), "messages").response()
    except OpenAIError as error:
        return error.response()
    note(abstained=result.abstained, cited=result.cited_paragraphs, language=result.language)
    return JSONResponse(_completion(result, int(time.time())))
