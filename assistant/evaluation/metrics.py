"""The metrics over item records, the report grouped by language and kind, and ``evaluate``.

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
- ``answered``: over answerable items, the share answered rather than refused; a false
  refusal rate is ``1 - answered`` (abstention accuracy alone hides it behind the
  unanswerable items it gets right).
- ``contains_accuracy``: over all items, every ``must_contain`` present and no
  ``must_not_contain`` present (case- and accent-insensitive).
- ``groundedness``: over answers an LLM wrote (``--answerer llm``), including those
  replaced by the offline answer because no sentence survived verification: kept cited
  sentences / (kept + removed sentences), pooled over the items; a removed sentence is one
  verification dropped (unsupported, or a claim without a citation). ``None`` when no
  answer was generated (the offline answerer quotes the document).
- ``own_language``: over answered items, the share whose quote is in the question's
  language (a language version of the document, or the document itself).
- latency p50 / p95 over all items, in milliseconds.

A metric with no item to average over is ``None`` (``null`` in JSON), never 0.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.evaluation.gold import GoldItem
from assistant.evaluation.records import ItemRecord, record
from assistant.result import AnswerResult, Turn

__all__ = [
    "METRIC_NAMES",
    "UNTAGGED",
    "Metrics",
    "Report",
    "evaluate",
    "groundedness",
    "metrics",
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
    "answered",
    "contains_accuracy",
    "groundedness",
    "own_language",
    "latency_ms_p50",
    "latency_ms_p95",
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
    answered: float | None
    contains_accuracy: float | None
    groundedness: float | None
    own_language: float | None
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
        "answered": _mean([0.0 if r.abstained or r.error else 1.0 for r in answerable]),
        "contains_accuracy": _mean([1.0 if r.contains_ok else 0.0 for r in records]),
        "groundedness": groundedness(records),
        "own_language": _mean(
            [float(r.quote_language == r.lang) for r in records if r.quote_language is not None]
        ),
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
