"""Quality bars: a minimum for one metric over one scope (overall, a language, a kind)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.evaluation.metrics import METRIC_NAMES, UNTAGGED, metrics
from assistant.evaluation.records import ItemRecord

__all__ = ["LOWER_IS_BETTER", "Bar", "BarResult", "check_bars", "make_bar", "parse_bar", "select"]

LOWER_IS_BETTER = ("latency_ms_p50", "latency_ms_p95")


def select(records: Sequence[ItemRecord], scope: str) -> list[ItemRecord]:
    """Records in ``scope``: ``all``, ``lang:nl``, ``lang:-nl`` (all but nl), ``kind:X``."""
    if scope in ("", "all", "overall"):
        return list(records)
    field, _, value = scope.partition(":")
    if field not in ("lang", "kind") or not value:
        raise ValueError(f"unknown scope {scope!r}; use lang:CODE, lang:-CODE, kind:K or kind:-K")
    negate = value.startswith("-")
    value = value.removeprefix("-")
    if field == "lang":
        return [r for r in records if (r.lang == value) != negate]
    return [r for r in records if ((r.kind or UNTAGGED) == value) != negate]


@dataclass(frozen=True)
class Bar:
    """A minimum for one metric over one scope (``all``, ``lang:nl``, ``lang:-nl``, ...)."""

    scope: str
    metric: str
    minimum: float

    @property
    def label(self) -> str:
        return self.metric if self.scope == "all" else f"{self.scope}/{self.metric}"


@dataclass(frozen=True)
class BarResult:
    """A bar and the value measured for it (``None`` when its scope had no item)."""

    bar: Bar
    value: float | None

    @property
    def ok(self) -> bool:
        return self.value is not None and self.value >= self.bar.minimum

    def describe(self) -> str:
        shown = "n/a (no item to measure)" if self.value is None else f"{self.value:g}"
        verdict = "ok" if self.ok else "BELOW BAR"
        return f"{self.bar.label} = {shown} (bar {self.bar.minimum:g}): {verdict}"


def make_bar(key: str, minimum: float) -> Bar:
    """A bar from ``[SCOPE/]METRIC`` and its minimum; ValueError when either is invalid."""
    scope, _, metric = key.rpartition("/")
    scope = scope or "all"
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRIC_NAMES)}")
    if metric in LOWER_IS_BETTER:
        raise ValueError(f"{metric} is lower-is-better; timing bars belong in benchmarks/")
    select([], scope)  # validates the scope's syntax
    return Bar(scope, metric, minimum)


def parse_bar(text: str) -> Bar:
    """Parse ``[SCOPE/]METRIC=VALUE``, e.g. ``hit@1=0.9`` or ``lang:-nl/hit@3=0.85``."""
    key, sep, value = text.rpartition("=")
    if not sep or not key:
        raise ValueError(f"expected METRIC=VALUE, got {text!r}")
    try:
        minimum = float(value)
    except ValueError:
        minimum = math.nan
    if not math.isfinite(minimum):
        raise ValueError(f"the bar value in {text!r} is not a number")
    return make_bar(key, minimum)


def check_bars(records: Sequence[ItemRecord], bars: Sequence[Bar]) -> list[BarResult]:
    """Measure every bar on ``records``."""
    return [BarResult(b, metrics(select(records, b.scope)).get(b.metric)) for b in bars]
