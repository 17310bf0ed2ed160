"""Gold questions: the item format, reading JSONL files, and linting them.

The format is ``shared/eval/README.md``'s; a bad line is reported as ``file:line`` with
every problem, never skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.result import AnswerResult, Turn

__all__ = ["Asker", "GoldError", "GoldItem", "lint_gold", "load_gold", "load_gold_files"]

_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")


class Asker(Protocol):
    """Anything that answers like ``AssistantService.ask`` (ours or a baseline)."""

    def ask(self, question: str, history: Sequence[Turn] = ()) -> AnswerResult: ...


class GoldError(ValueError):
    """Gold lines that are not valid items; each problem names ``file:line``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class GoldItem(BaseModel):
    """One gold question (format: shared/eval/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(min_length=1)
    lang: str = Field(min_length=2)
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    answerable: bool
    paragraphs: list[int] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    kind: str = ""
    comment: str = ""  # a reviewer's or reader's note (feedback candidates); not scored
    # Where the item came from ("file:line"); set by the loader, not in the file.
    source: str = Field(default="", exclude=True)


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "item"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


def _parse(path: Path) -> tuple[list[GoldItem], list[str]]:
    items: list[GoldItem] = []
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [f"{path}: cannot read the gold file ({error})"]
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{where}: not valid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: expected a JSON object, got {type(data).__name__}")
            continue
        try:
            items.append(GoldItem.model_validate({**data, "source": where}))
        except ValidationError as error:
            problems.append(f"{where}: {_describe(error)}")
    return items, problems


def _check(items: Sequence[GoldItem], known: Iterable[int] | None) -> list[str]:
    """Consistency problems: duplicate ids, unknown paragraphs, answerable vs paragraphs."""
    problems: list[str] = []
    first: dict[str, str] = {}
    valid = set(known) if known is not None else None
    for item in items:
        where = item.source or item.id
        if item.id in first:
            problems.append(f"{where}: duplicate id {item.id!r} (first at {first[item.id]})")
        first.setdefault(item.id, where)
        if not _LANG.match(item.lang):
            problems.append(f"{where}: lang {item.lang!r} is not an ISO 639 code like 'nl'")
        if item.answerable and not item.paragraphs:
            problems.append(f"{where}: answerable item without paragraphs")
        if not item.answerable and item.paragraphs:
            problems.append(f"{where}: unanswerable item lists paragraphs {item.paragraphs}")
        if len(set(item.paragraphs)) != len(item.paragraphs):
            problems.append(f"{where}: paragraphs repeat a number: {item.paragraphs}")
        if valid is not None:
            unknown = sorted(set(item.paragraphs) - valid)
            if unknown:
                problems.append(
                    f"{where}: paragraphs {unknown} do not exist "
                    f"(the document has {min(valid)}-{max(valid)})"
                )
        if any(not s.strip() for s in [*item.must_contain, *item.must_not_contain]):
            problems.append(f"{where}: empty string in must_contain/must_not_contain")
    return problems


def _read(
    paths: Sequence[Path], known_paragraphs: Iterable[int] | None
) -> tuple[list[GoldItem], list[str]]:
    items: list[GoldItem] = []
    problems: list[str] = []
    for path in paths:
        parsed, bad = _parse(path)
        items.extend(parsed)
        problems.extend(bad)
    return items, problems + _check(items, known_paragraphs)


def lint_gold(paths: Sequence[Path], known_paragraphs: Iterable[int] | None) -> list[str]:
    """Every problem in the gold files, each as ``file:line: message``."""
    return _read(paths, known_paragraphs)[1]


def load_gold_files(
    paths: Sequence[Path], known_paragraphs: Iterable[int] | None = None
) -> list[GoldItem]:
    """Items of all files; GoldError listing every problem (ids unique across files)."""
    items, problems = _read(paths, known_paragraphs)
    if problems:
        raise GoldError(problems)
    return items


def load_gold(path: Path) -> list[GoldItem]:
    """Read one JSONL gold file; GoldError with ``path:line`` for each bad line."""
    return load_gold_files([path])
