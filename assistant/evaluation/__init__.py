"""The evaluation harness: gold files, per-item records, metrics, bars, reports, baselines.

``assistant eval`` (``assistant.evaluation.cli``) and the pytest helper
(``assistant.evaluation.pytest_plugin``) are built from these parts.
"""

from assistant.evaluation.bars import Bar, BarResult, check_bars, make_bar, parse_bar, select
from assistant.evaluation.gold import (
    Asker,
    GoldError,
    GoldItem,
    lint_gold,
    load_gold,
    load_gold_files,
)
from assistant.evaluation.metrics import (
    METRIC_NAMES,
    UNTAGGED,
    Metrics,
    Report,
    evaluate,
    groundedness,
    metrics,
    report,
)
from assistant.evaluation.records import ItemRecord, cited_sentences, record
from assistant.evaluation.reports import render_compare, render_failures, render_table, write_junit

__all__ = [
    "METRIC_NAMES",
    "UNTAGGED",
    "Asker",
    "Bar",
    "BarResult",
    "GoldError",
    "GoldItem",
    "ItemRecord",
    "Metrics",
    "Report",
    "check_bars",
    "cited_sentences",
    "evaluate",
    "groundedness",
    "lint_gold",
    "load_gold",
    "load_gold_files",
    "make_bar",
    "metrics",
    "parse_bar",
    "record",
    "render_compare",
    "render_failures",
    "render_table",
    "report",
    "select",
    "write_junit",
]
