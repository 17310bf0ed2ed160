"""Kept answers over HTTP: export one (Markdown or JSON) and rate it.

An unknown id is 404, a bad rating 422, an over-long comment 413; a store that is
unavailable is 503 here while answering goes on (``/healthz`` says ``degraded``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from assistant import (
    AnswerStore,
    StoredAnswer,
    StoreError,
    answer_json,
    answer_markdown,
    conversation_markdown,
)
from assistant.answers import MAX_COMMENT
from ui.web.routes import Service

__all__ = ["FeedbackRequest", "router"]

router = APIRouter()
AnswerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The answer's id.")]
_ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "No answer has this id (or it is no longer kept)."},
    503: {"description": "The answer store is unavailable."},
}


class FeedbackRequest(BaseModel):
    """A reader's rating of an answer, with an optional comment."""

    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str = Field(default="", description=f"At most {MAX_COMMENT} characters.")


def _store(service: Service) -> AnswerStore:
    if service.answers is None:
        raise HTTPException(404, "answers are not kept on this deployment")
    return service.answers


def _stored(service: Service, answer_id: str) -> StoredAnswer:
    try:
        stored = _store(service).get(answer_id)
    except StoreError as error:
        raise HTTPException(503, f"the answer store is unavailable: {error}") from None
    if stored is None:
        raise HTTPException(404, f"no answer has the id {answer_id}")
    return stored


@router.get("/api/answers/{answer_id}", tags=["answers"], responses=_ERRORS)
def export(
    service: Service,
    answer_id: AnswerId,
    format: Annotated[Literal["json", "md"], Query(description="json or md")] = "json",
) -> Response:
    """One answer with its question, citations (paragraph text, cited sentence), the
    document and date, the answerer or model and the time; as JSON or Markdown."""
    stored = _stored(service, answer_id)
    title = service.document_title
    name = f"answer-{answer_id[:8]}"
    if format == "md":
        return PlainTextResponse(
            answer_markdown(stored, title),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.md"'},
        )
    return JSONResponse(
        answer_json(stored, title),
        headers={"Content-Disposition": f'inline; filename="{name}.json"'},
    )


@router.post(
    "/api/answers/{answer_id}/feedback",
    tags=["answers"],
    status_code=201,
    responses={**_ERRORS, 413: {"description": "The comment is too long."}},
)
def feedback(service: Service, answer_id: AnswerId, body: FeedbackRequest) -> dict[str, str]:
    """Rate an answer up or down, with an optional comment."""
    if len(body.comment) > MAX_COMMENT:
        raise HTTPException(413, f"the comment is {len(body.comment)} characters; the limit is "
                                 f"{MAX_COMMENT}")  # fmt: skip
    try:
        kept = _store(service).add_feedback(answer_id, body.rating, body.comment)
    except StoreError as error:
        raise HTTPException(503, f"the answer store is unavailable: {error}") from None
    if kept is None:
        raise HTTPException(404, f"no answer has the id {answer_id}")
    return {"status": "kept", "answer_id": answer_id, "rating": body.rating}


@router.get("/api/conversations", tags=["answers"], responses=_ERRORS)
def export_conversation(
    service: Service,
    ids: Annotated[
        str,
        Query(
            pattern=r"^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64}){0,199}$",
            description="The conversation's answer ids, comma-separated, oldest first.",
        ),
    ],
) -> Response:
    """A whole conversation as Markdown: each question with its answer and sources."""
    turns = [_stored(service, answer_id).result for answer_id in ids.split(",")]
    text = conversation_markdown([(r.question, r) for r in turns], service.document_title)
    return PlainTextResponse(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversation.md"'},
    )
