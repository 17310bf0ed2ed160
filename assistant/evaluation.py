"""Gold questions and the metrics computed over them (hit@k, MRR, abstention)."""

from __future__ import annotations

import json
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.result import AnswerResult, Turn

__all__ = [
    "GoldError",
    "GoldItem",
    "ItemRecord",
    "Metrics",
    "evaluate",
    "load_gold",
    "metrics",
    "record",
]


class GoldError(ValueError):
    """A gold file line that is not a valid item; names the file and line."""


class GoldItem(BaseModel):
    """One gold question (format: shared/eval/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    lang: str = Field(min_length=2)
    question: str
    history: list[Turn] = Field(default_factory=list)
    answerable: bool
    paragraphs: list[int] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    kind: str = ""


def load_gold(path: Path) -> list[GoldItem]:
    """Read a JSONL gold file; GoldError with ``path:line`` on the first bad line."""
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = GoldItem.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as error:
            raise GoldError(f"{path}:{number}: {error}") from error
        if item.id in seen:
            raise GoldError(f"{path}:{number}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return items


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class ItemRecord(BaseModel):
    """What happened to one gold item."""

    id: str
    lang: str
    kind: str
    question: str
    answerable: bool
    gold: list[int]
    ranked: list[int]
    cited: list[int]
    abstained: bool
    answer: str
    contains_ok: bool
    latency_ms: float


def record(item: GoldItem, result: AnswerResult, latency_ms: float) -> ItemRecord:
    """Score one answer against its gold item."""
    answer = _fold(result.answer)
    contains_ok = all(_fold(s) in answer for s in item.must_contain) and not any(
        _fold(s) in answer for s in item.must_not_contain
    )
    return ItemRecord(
        id=item.id,
        lang=item.lang,
        kind=item.kind,
        question=item.question,
        answerable=item.answerable,
        gold=item.paragraphs,
        ranked=[p.paragraph for p in result.ranked],
        cited=result.cited_paragraphs,
        abstained=result.abstained,
        answer=result.answer,
        contains_ok=contains_ok,
        latency_ms=round(latency_ms, 2),
    )


class Metrics(BaseModel):
    """Aggregate metrics over a set of records."""

    n: int
    hit_at_1: float = Field(alias="hit@1")
    hit_at_3: float = Field(alias="hit@3")
    mrr: float
    abstention_accuracy: float
    contains_accuracy: float
    latency_ms_p50: float
    latency_ms_p95: float

    model_config = ConfigDict(populate_by_name=True)


def _rank_of(record: ItemRecord) -> int | None:
    for rank, number in enumerate(record.ranked, 1):
        if number in record.gold:
            return rank
    return None


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _percentile(values: Sequence[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def metrics(records: Sequence[ItemRecord]) -> Metrics:
    """hit@1, hit@3 and MRR over answerable items; the rest over all items."""
    answerable = [r for r in records if r.answerable]
    ranks = [_rank_of(r) for r in answerable]
    latencies = [r.latency_ms for r in records]
    return Metrics(
        n=len(records),
        hit_at_1=_mean([1.0 if k == 1 else 0.0 for k in ranks]),
        hit_at_3=_mean([1.0 if k is not None and k <= 3 else 0.0 for k in ranks]),
        mrr=_mean([1.0 / k if k else 0.0 for k in ranks]),
        abstention_accuracy=_mean([1.0 if r.abstained != r.answerable else 0.0 for r in records]),
        contains_accuracy=_mean([1.0 if r.contains_ok else 0.0 for r in records]),
        latency_ms_p50=_percentile(latencies, 50),
        latency_ms_p95=_percentile(latencies, 95),
    )


def evaluate(
    ask: Callable[[str, list[Turn]], AnswerResult], items: Iterable[GoldItem]
) -> list[ItemRecord]:
    """Ask every gold question and record the outcome."""
    import time

    records = []
    for item in items:
        started = time.perf_counter()
        result = ask(item.question, item.history)
        records.append(record(item, result, (time.perf_counter() - started) * 1000))
    return records
