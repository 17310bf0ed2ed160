"""What the answer store gives back to people: feedback as gold candidates, the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from assistant.compose import answer_store
from assistant.settings import Settings

__all__ = ["audit_lines", "feedback_candidates", "parse_since"]


def feedback_candidates(settings: Settings) -> list[str]:
    """Every rated answer as a gold-format JSON line, for an evaluator to review.

    Rated up: what the answer cited is the candidate gold. Rated down: a reader says the
    answer was wrong, so the item is marked answerable with no paragraphs: ``assistant eval
    --check`` flags it until the evaluator fills them in (or marks it unanswerable).

    Raises:
        StoreError: the store cannot be read.
    """
    store = answer_store(settings)
    try:
        rated = store.feedback()
    finally:
        store.close()
    lines: list[str] = []
    for number, (feedback, stored) in enumerate(rated, 1):
        result = stored.result
        up = feedback.rating == "up"
        item = {
            "id": f"feedback-{stored.id[:12]}-{number}",
            "lang": result.language,
            "question": result.question,
            "history": [t.model_dump() for t in stored.history],
            "answerable": (not result.abstained) if up else True,
            "paragraphs": result.cited_paragraphs if up else [],
            "must_contain": [],
            "kind": f"feedback-{feedback.rating}",
            "comment": feedback.comment,
        }
        lines.append(json.dumps(item, ensure_ascii=False))
    return lines


def parse_since(value: str | None) -> float:
    """``--since`` as Unix time (0 for none); ValueError for what is not an ISO date."""
    if not value:
        return 0.0
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--since takes a date like 2026-12-01, not {value[:40]!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def audit_lines(settings: Settings, since: float = 0.0) -> list[str]:
    """The audit trail from ``since`` as JSON lines, oldest first.

    Raises:
        StoreError: the store cannot be read.
    """
    store = answer_store(settings)
    try:
        return [entry.model_dump_json() for entry in store.audit_entries(since)]
    finally:
        store.close()
