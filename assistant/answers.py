"""Answers kept in the data directory (SQLite), so links, export and feedback outlive a restart.

One file, ``answers.sqlite3`` beside the index: the answers (bounded by count and age), the
feedback on them, and, when switched on, an audit trail with its own retention. The store
never stands in the way of an answer: a store that cannot be opened or written (damaged,
full disk) is logged, reported as ``degraded`` and left as it is (nothing stored is
deleted or overwritten), and answering goes on without it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.result import AnswerResult, Turn

__all__ = ["AnswerStore", "AuditEntry", "Feedback", "StoredAnswer", "StoreError"]

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]
MAX_COMMENT = 2000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, created REAL NOT NULL, answerer TEXT NOT NULL,
    history TEXT NOT NULL, result TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS answers_created ON answers (created);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL, created REAL NOT NULL, rating TEXT NOT NULL, comment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id);
CREATE TABLE IF NOT EXISTS audit (
    answer_id TEXT NOT NULL, created REAL NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_created ON audit (created);
"""
_PRUNE_EVERY = 50  # inserts between two prunings


class StoreError(RuntimeError):
    """The store could not do what was asked (it is unavailable or damaged)."""


class StoredAnswer(BaseModel):
    """An answer as kept: the result, when, by what, and the conversation before it."""

    id: str
    created: float = Field(description="Unix time.")
    answerer: str = Field(description="'offline', or the model that wrote it.")
    history: list[Turn]
    result: AnswerResult


class Feedback(BaseModel):
    """A reader's rating of an answer, with an optional comment."""

    answer_id: str
    created: float
    rating: Rating
    comment: str = ""


class AuditEntry(BaseModel):
    """One answer in the audit trail. The question only where question logging is allowed."""

    answer_id: str
    time: float
    request_id: str
    answerer: str
    language: str
    abstained: bool
    citations: list[int]
    removed: list[str] = Field(description="What verification removed, and why.")
    latency_ms: float
    question: str | None = None


@dataclass
class _State:
    connection: sqlite3.Connection | None = None
    degraded: str | None = None  # why the store is not in use
    inserts: int = 0


class AnswerStore:
    """The answers, feedback and audit trail of one deployment (thread-safe)."""

    def __init__(
        self,
        path: Path,
        *,
        max_answers: int = 10_000,
        max_age_days: float = 90.0,
        audit: bool = False,
        audit_retention_days: float = 90.0,
        audit_questions: bool = False,
    ) -> None:
        self.path = path
        self.max_answers = max_answers
        self.max_age_days = max_age_days
        self.audit = audit
        self.audit_retention_days = audit_retention_days
        self.audit_questions = audit_questions
        self._lock = threading.Lock()
        self._state = _State()

    # -- state -------------------------------------------------------------------
    @property
    def degraded(self) -> str | None:
        """Why the store is not in use (damaged, unwritable), or None when it is healthy."""
        return self._state.degraded

    def _connect(self) -> sqlite3.Connection:
        if self._state.connection is None:
            if self._state.degraded:
                raise StoreError(self._state.degraded)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
                # A rollback journal, not WAL: no -wal and -shm files beside the index, which
                # on a nearly full disk took the last free pages the index needed to open.
                connection.execute("PRAGMA journal_mode=DELETE")
                connection.executescript(_SCHEMA)
                verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    connection.close()
                    raise sqlite3.DatabaseError(f"damaged: {verdict}")
                self._state.connection = connection
            except (sqlite3.Error, OSError) as error:
                # Damaged or unreachable: left as it is for a person to look at.
                self._fail(f"the answer store {self.path} cannot be opened: {error}")
                raise StoreError(self._state.degraded or str(error)) from error
        return self._state.connection

    def _fail(self, reason: str) -> None:
        self._state.degraded = reason
        if self._state.connection is not None:
            self._state.connection.close()
            self._state.connection = None
        log.error("%s; answers go on without it", reason)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connect()
            try:
                with connection:
                    yield connection
            except sqlite3.DatabaseError as error:
                # A full disk or a damaged file: nothing is deleted, answering goes on.
                if not isinstance(error, sqlite3.IntegrityError):
                    self._fail(f"the answer store failed to {what}: {error}")
                raise StoreError(str(error)) from error

    def check(self) -> str | None:
        """Open the store now (a server does at start); why it is unusable, or None."""
        with self._lock, contextlib.suppress(StoreError):
            self._connect()
        return self._state.degraded

    def close(self) -> None:
        with self._lock:
            if self._state.connection is not None:
                self._state.connection.close()
                self._state.connection = None

    # -- answers -------------------------------------------------------------------
    def save(
        self, result: AnswerResult, answerer: str, history: list[Turn], request_id: str = ""
    ) -> None:
        """Keep ``result`` (its ``id`` is the key), and its audit entry when auditing is on.

        Raises:
            StoreError: it could not be kept (the reason is logged and the store degraded).
        """
        now = time.time()
        with self._transaction("keep an answer") as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?)",
                (
                    result.id,
                    now,
                    answerer,
                    json.dumps([t.model_dump() for t in history], ensure_ascii=False),
                    result.model_dump_json(),
                ),
            )
            if self.audit:
                entry = AuditEntry(
                    answer_id=result.id,
                    time=now,
                    request_id=request_id,
                    answerer=answerer,
                    language=result.language,
                    abstained=result.abstained,
                    citations=result.cited_paragraphs,
                    removed=[f"{r.kind} §{r.paragraph}: {r.reason}" for r in result.removed],
                    latency_ms=result.timings_ms.get("total", 0.0),
                    question=result.question if self.audit_questions else None,
                )
                db.execute(
                    "INSERT INTO audit VALUES (?, ?, ?)", (result.id, now, entry.model_dump_json())
                )
            self._state.inserts += 1
            if self._state.inserts % _PRUNE_EVERY == 1:
                self._prune(db, now)

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        oldest = now - self.max_age_days * 86400
        db.execute("DELETE FROM answers WHERE created < ?", (oldest,))
        db.execute(
            "DELETE FROM answers WHERE id NOT IN "
            "(SELECT id FROM answers ORDER BY created DESC LIMIT ?)",
            (self.max_answers,),
        )
        db.execute("DELETE FROM feedback WHERE answer_id NOT IN (SELECT id FROM answers)")
        db.execute(
            "DELETE FROM audit WHERE created < ?", (now - self.audit_retention_days * 86400,)
        )

    def get(self, answer_id: str) -> StoredAnswer | None:
        """The answer kept under ``answer_id``, or None.

        Raises:
            StoreError: the store is unavailable.
        """
        with self._transaction("read an answer") as db:
            row = db.execute(
                "SELECT id, created, answerer, history, result FROM answers WHERE id = ?",
                (answer_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredAnswer(
            id=row[0],
            created=row[1],
            answerer=row[2],
            history=[Turn.model_validate(t) for t in json.loads(row[3])],
            result=AnswerResult.model_validate_json(row[4]),
        )

    # -- feedback ------------------------------------------------------------------
    def add_feedback(self, answer_id: str, rating: Rating, comment: str = "") -> Feedback | None:
        """Record a rating; None when no answer has that id."""
        feedback = Feedback(
            answer_id=answer_id, created=time.time(), rating=rating, comment=comment
        )
        with self._transaction("keep feedback") as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                return None
            db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?)",
                (answer_id, feedback.created, rating, comment),
            )
        return feedback

    def feedback(self) -> list[tuple[Feedback, StoredAnswer]]:
        """Every rating with the answer it rates, oldest first."""
        with self._transaction("read feedback") as db:
            rows = db.execute(
                "SELECT answer_id, created, rating, comment FROM feedback ORDER BY created"
            ).fetchall()
        found = []
        for answer_id, created, rating, comment in rows:
            stored = self.get(answer_id)
            if stored is not None:
                found.append((Feedback(answer_id=answer_id, created=created, rating=rating,
                                       comment=comment), stored))  # fmt: skip
        return found

    # -- audit -------------------------------------------------------------------
    def audit_entries(self, since: float = 0.0) -> list[AuditEntry]:
        """The audit trail from ``since`` (Unix time), oldest first."""
        with self._transaction("read the audit trail") as db:
            rows = db.execute(
                "SELECT entry FROM audit WHERE created >= ? ORDER BY created", (since,)
            ).fetchall()
        return [AuditEntry.model_validate_json(row[0]) for row in rows]

    def stats(self) -> dict[str, Any]:
        """Counts, for health reports."""
        with self._transaction("count") as db:
            answers = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            feedback = db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
        return {"answers": answers, "feedback": feedback}
