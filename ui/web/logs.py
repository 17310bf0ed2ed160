"""Logs of the web server: text or JSON lines, each tagged with the id of its request.

A request's id and its access fields live in context variables, so every line logged
while the request runs (in the event loop or a worker thread) carries the id, and the
endpoint can add what it knows (abstained, cited paragraphs) to the one access line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ACCESS",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "current_request_id",
    "note",
    "request_context",
    "request_id_from",
]

ACCESS = logging.getLogger("assistant.access")
_NO_REQUEST = "-"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_request_id: ContextVar[str] = ContextVar("assistant_request_id", default=_NO_REQUEST)
_fields: ContextVar[dict[str, Any] | None] = ContextVar("assistant_access_fields", default=None)
# The attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


def request_id_from(given: str | None) -> str:
    """The client's X-Request-ID when it is well-formed (1-128 of ``A-Za-z0-9._:-``), else new."""
    if given and _ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being handled, or ``-`` outside one."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str) -> Iterator[dict[str, Any]]:
    """Bind ``request_id`` and a fresh dict of access fields for the code run inside."""
    fields: dict[str, Any] = {}
    id_token = _request_id.set(request_id)
    fields_token = _fields.set(fields)
    try:
        yield fields
    finally:
        _fields.reset(fields_token)
        _request_id.reset(id_token)


def note(**fields: Any) -> None:
    """Add fields to the current request's access line (nothing outside a request)."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", _NO_REQUEST),
            **_extra(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        extra = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in _extra(record).items())
        return super().formatMessage(record) + (f" {extra}" if extra else "")


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Send every log line of the process to stderr, formatted once, with request ids.

    The project's own loggers (``assistant``, ``index``, ``ui``) log at ``level``; other
    libraries' (uvicorn's among them) only from WARNING, so their lines share the format
    without flooding it.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for own in ("assistant", "index", "ui"):
        logging.getLogger(own).setLevel(level)
