"""What happened to each gold item: its ranking, citations, abstention and per-item scores."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from assistant.evaluation.gold import GoldItem
from assistant.markers import SentenceSplitter, cited_numbers
from assistant.result import AnswerResult, RankedParagraph
from assistant.text import fold

__all__ = ["ItemRecord", "cited_sentences", "record"]


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
    quote_language: str | None = Field(
        default=None, description="Language of the quoted text; None when nothing was quoted."
    )
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
        quote_language=result.quote_language if result else None,
        removed_sentences=sum(r.kind == "sentence" for r in result.removed) if result else 0,
    )
