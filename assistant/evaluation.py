"""Gold questions, per-question records and the metrics computed over them.

Definitions (shared by the CLI, the pytest helper and the benchmarks):

- ``hit@1``, ``hit@3``, ``mrr``: over answerable items, from the ranked paragraphs
  (whether or not the system abstained). A gold paragraph's rank is its first
  position in the ranking; when it ties in every score with paragraphs ranked
  above it, it takes the last position of that tie group (ties count against the
  system, so an all-zero ranking cannot score by the accident of paragraph order).
- ``citation_precision``: over items the system answered (did not abstain):
  ``|cited & gold| / |cited|``; an answer without citations scores 0, and an
  answer to an unanswerable question scores 0. Abstentions assert nothing and are
  left out.
- ``citation_recall``: over answerable items: ``|cited & gold| / |gold|``; an
  abstention or an empty citation list scores 0.
- ``abstention_accuracy``: over all items, abstained exactly when not answerable;
  an item whose ``ask`` raised counts as wrong.
- ``contains_accuracy``: over all items, every ``must_contain`` present and no
  ``must_not_contain`` present (case- and accent-insensitive).
- ``groundedness``: over answers an LLM wrote (``--answerer llm``), including those
  replaced by the offline answer because no sentence survived verification: kept cited
  sentences / (kept + removed sentences), pooled over the items; a removed sentence is one
  verification dropped (unsupported, or a claim without a citation). ``None`` when no
  answer was generated (the offline answerer quotes the document).
- latency p50 / p95 over all items, in milliseconds.

A metric with no item to average over is ``None`` (``null`` in JSON), never 0.
"""

from __future__ import annotations

import contextlib
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.citations import SentenceSplitter, cited_numbers
from assistant.result import AnswerResult, RankedParagraph, Turn
from assistant.text import fold

__all__ = [
    "METRIC_NAMES",
    "UNTAGGED",
    "Asker",
    "GoldError",
    "GoldItem",
    "ItemRecord",
    "Metrics",
    "Report",
    "cited_sentences",
    "evaluate",
    "groundedness",
    "lint_gold",
    "load_gold",
    "load_gold_files",
    "metrics",
    "record",
    "report",
]

METRIC_NAMES = (
    "n",
    "hit@1",
    "hit@3",
    "mrr",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "contains_accuracy",
    "groundedness",
    "latency_ms_p50",
    "latency_ms_p95",
)
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


class ItemRecord(BaseModel):
    """What happened to one gold item, with its per-item scores."""

    id: str
    source: str
    lang: str
    kind: str
    question: str
    answerable: bool
    gold: list[int]
    ranked: list[int]
    rank: int | None = Field(description="Rank of the best gold paragraph (ties pessimistic).")
    cited: list[int]
    abstained: bool
    answer: str
    abstention_ok: bool
    contains_ok: bool
    citation_precision: float | None
    citation_recall: float | None
    passed: bool
    reasons: list[str] = Field(description="Why the item failed; empty when it passed.")
    latency_ms: float
    error: str | None = None
    rewritten_query: str | None = Field(
        default=None, description="The standalone query an LLM made of a follow-up."
    )
    generated: bool = Field(default=False, description="The answer was written by the LLM.")
    fallback: str | None = Field(
        default=None, description="Why the LLM's answer was not (fully) used, if it was not."
    )
    kept_sentences: int = Field(default=0, description="Cited sentences in a generated answer.")
    removed_sentences: int = Field(
        default=0, description="Sentences verification removed from the model's answer."
    )


def cited_sentences(text: str) -> int:
    """How many sentences of ``text`` carry a ``[§n]`` marker."""
    splitter = SentenceSplitter()
    pieces = [*splitter.feed(text), *splitter.finish()]
    return sum(bool(cited_numbers(piece.text)) for piece in pieces)


def _dedupe(ranked: Sequence[RankedParagraph]) -> list[RankedParagraph]:
    seen: set[int] = set()
    unique = []
    for entry in ranked:
        if entry.paragraph not in seen:
            seen.add(entry.paragraph)
            unique.append(entry)
    return unique


def _rank(ranked: Sequence[RankedParagraph], gold: Sequence[int]) -> int | None:
    entries = _dedupe(ranked)
    keys = [(e.score, e.dense, e.bm25) for e in entries]
    for position, entry in enumerate(entries):
        if entry.paragraph in gold:
            # The tie group around it: entries whose scores the system cannot tell apart.
            group = [i for i, key in enumerate(keys) if key == keys[position]]
            others = sum(entries[i].paragraph not in gold for i in group)
            # Ties count against the system: every tied non-gold entry goes first.
            return min(group) + others + 1
    return None


def _citation_scores(
    item: GoldItem, cited: Sequence[int], abstained: bool
) -> tuple[float | None, float | None]:
    correct = len(set(cited) & set(item.paragraphs))
    precision: float | None = None
    if not abstained:
        precision = correct / len(set(cited)) if cited else 0.0
    recall = correct / len(set(item.paragraphs)) if item.answerable and item.paragraphs else None
    return precision, recall


def record(
    item: GoldItem, result: AnswerResult | None, latency_ms: float, error: str | None = None
) -> ItemRecord:
    """Score one answer (or the error raised instead) against its gold item."""
    ranked = _dedupe(result.ranked) if result else []
    cited = list(dict.fromkeys(result.cited_paragraphs)) if result else []
    abstained = result.abstained if result else False
    answer = fold(result.answer) if result else ""
    missing = [s for s in item.must_contain if fold(s) not in answer]
    forbidden = [s for s in item.must_not_contain if fold(s) in answer]
    rank = _rank(ranked, item.paragraphs) if item.answerable else None
    precision, recall = _citation_scores(item, cited, abstained)
    abstention_ok = error is None and abstained != item.answerable
    reasons: list[str] = []
    if error is not None:
        reasons.append(f"error: {error}")
    elif item.answerable and abstained:
        reasons.append("abstained on an answerable question")
    elif not item.answerable and not abstained:
        reasons.append("answered an unanswerable question")
    elif item.answerable and not set(cited) & set(item.paragraphs):
        gold = ", ".join(f"§{n}" for n in item.paragraphs)
        got = ", ".join(f"§{n}" for n in cited) or "nothing"
        reasons.append(f"cited {got}, gold {gold}")
    reasons += [f"missing {s!r}" for s in missing]
    reasons += [f"contains forbidden {s!r}" for s in forbidden]
    return ItemRecord(
        id=item.id,
        source=item.source,
        lang=item.lang,
        kind=item.kind,
        question=item.question,
        answerable=item.answerable,
        gold=list(item.paragraphs),
        ranked=[p.paragraph for p in ranked],
        rank=rank,
        cited=cited,
        abstained=abstained,
        answer=result.answer if result else "",
        abstention_ok=abstention_ok,
        contains_ok=not missing and not forbidden,
        citation_precision=precision,
        citation_recall=recall,
        passed=not reasons,
        reasons=reasons,
        latency_ms=round(latency_ms, 2),
        error=error,
        rewritten_query=result.rewritten_query if result else None,
        generated=result.generated if result else False,
        fallback=result.fallback if result else None,
        kept_sentences=cited_sentences(result.answer) if result and result.generated else 0,
        removed_sentences=sum(r.kind == "sentence" for r in result.removed) if result else 0,
    )


class Metrics(BaseModel):
    """Aggregate metrics over a set of records; ``None`` where nothing to average."""

    model_config = ConfigDict(populate_by_name=True)

    n: int
    hit_at_1: float | None = Field(alias="hit@1")
    hit_at_3: float | None = Field(alias="hit@3")
    mrr: float | None
    citation_precision: float | None
    citation_recall: float | None
    abstention_accuracy: float | None
    contains_accuracy: float | None
    groundedness: float | None
    latency_ms_p50: float | None
    latency_ms_p95: float | None

    def get(self, name: str) -> float | None:
        """A metric by its JSON name (``hit@1``, ``mrr``, ...)."""
        if name not in METRIC_NAMES:
            raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}")
        value: float | None = self.model_dump(by_alias=True)[name]
        return value


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentile(values: Sequence[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def groundedness(records: Sequence[ItemRecord]) -> float | None:
    """Kept cited sentences / (kept + removed) over generated answers; None without any."""
    generated = [r for r in records if r.generated or r.fallback == "unverified"]
    kept = sum(r.kept_sentences for r in generated)
    total = kept + sum(r.removed_sentences for r in generated)
    return round(kept / total, 4) if total else None


def metrics(records: Sequence[ItemRecord]) -> Metrics:
    """The metrics of the module docstring over ``records``."""
    answerable = [r for r in records if r.answerable]
    ranks = [r.rank for r in answerable]
    latencies = [r.latency_ms for r in records]
    values = {
        "n": len(records),
        "hit@1": _mean([1.0 if k == 1 else 0.0 for k in ranks]),
        "hit@3": _mean([1.0 if k is not None and k <= 3 else 0.0 for k in ranks]),
        "mrr": _mean([1.0 / k if k else 0.0 for k in ranks]),
        "citation_precision": _mean(
            [r.citation_precision for r in records if r.citation_precision is not None]
        ),
        "citation_recall": _mean(
            [r.citation_recall for r in records if r.citation_recall is not None]
        ),
        "abstention_accuracy": _mean([1.0 if r.abstention_ok else 0.0 for r in records]),
        "contains_accuracy": _mean([1.0 if r.contains_ok else 0.0 for r in records]),
        "groundedness": groundedness(records),
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
    }
    return Metrics.model_validate(values)


class Report(BaseModel):
    """The harness output: metrics overall, per language and kind, and every item."""

    overall: Metrics
    by_lang: dict[str, Metrics]
    by_kind: dict[str, Metrics]
    items: list[ItemRecord]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(by_alias=True)
        return data


UNTAGGED = "untagged"


def report(records: Sequence[ItemRecord]) -> Report:
    """Group ``records`` and compute every metric block."""
    langs = sorted({r.lang for r in records})
    kinds = sorted({r.kind or UNTAGGED for r in records})
    return Report(
        overall=metrics(records),
        by_lang={lang: metrics([r for r in records if r.lang == lang]) for lang in langs},
        by_kind={k: metrics([r for r in records if (r.kind or UNTAGGED) == k]) for k in kinds},
        items=list(records),
    )


def evaluate(
    ask: Callable[[str, list[Turn]], AnswerResult],
    items: Iterable[GoldItem],
    *,
    warm_up: bool = True,
) -> list[ItemRecord]:
    """Ask every gold question and record the outcome; an exception is recorded, not raised.

    Args:
        warm_up: ask the first question once, untimed and unrecorded, so that
            lazy loading (models, language detector) is not billed to one item.
    """
    items = list(items)
    if warm_up and items:
        # A failure here is recorded by the timed run.
        with contextlib.suppress(Exception):
            ask(items[0].question, [])
    records = []
    for item in items:
        started = time.perf_counter()
        try:
            result: AnswerResult | None = ask(item.question, list(item.history))
            error = None
        except Exception as exc:  # the harness reports failures; it must not stop on one
            result, error = None, f"{type(exc).__name__}: {exc}"
        records.append(record(item, result, (time.perf_counter() - started) * 1000, error))
    return records
