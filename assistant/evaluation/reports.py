"""Readable reports of an evaluation: tables, the failure list, and JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

from assistant.evaluation.bars import BarResult
from assistant.evaluation.metrics import METRIC_NAMES, Report
from assistant.evaluation.records import ItemRecord

__all__ = ["render_compare", "render_failures", "render_table", "write_junit"]

_SHORT = {
    "citation_precision": "cite P",
    "citation_recall": "cite R",
    "abstention_accuracy": "abstain",
    "answered": "answered",
    "contains_accuracy": "contains",
    "groundedness": "grounded",
    "own_language": "own lang",
    "latency_ms_p50": "p50 ms",
    "latency_ms_p95": "p95 ms",
}


def _cell(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}" if value >= 10 else f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def render_table(result: Report) -> str:
    """Metrics overall, per language and per kind, one row each (Markdown-compatible)."""
    blocks = [("overall", result.overall)]
    blocks += [(f"lang:{k}", m) for k, m in result.by_lang.items()]
    blocks += [(f"kind:{k}", m) for k, m in result.by_kind.items()]
    header = ["scope", *(_SHORT.get(n, n) for n in METRIC_NAMES)]
    rows = [[name, *(_cell(m.get(n)) for n in METRIC_NAMES)] for name, m in blocks]
    return _table(header, rows)


def render_compare(results: Mapping[str, Report]) -> str:
    """Systems side by side: overall metrics, then hit@1 and hit@3 per language."""
    names = list(results)
    rows = [[n, *(_cell(results[s].overall.get(n)) for s in names)] for n in METRIC_NAMES]
    langs = sorted({lang for r in results.values() for lang in r.by_lang})
    for metric in ("hit@1", "hit@3"):
        for lang in langs:
            cells = []
            for s in names:
                block = results[s].by_lang.get(lang)
                cells.append(_cell(block.get(metric) if block else None))
            rows.append([f"{metric} lang:{lang}", *cells])
    return _table(["metric", *names], rows)


def render_failures(result: Report, limit: int = 15) -> str:
    failed = [r for r in result.items if not r.passed]
    lines = [f"{len(failed)} of {len(result.items)} items failed"]
    for item in failed[:limit]:
        lines.append(f"  {item.id} [{item.lang}/{item.kind or '-'}]: {'; '.join(item.reasons)}")
    if len(failed) > limit:
        lines.append(f"  ... and {len(failed) - limit} more (see --json)")
    return "\n".join(lines)


def write_junit(result: Report, bars: Sequence[BarResult], path: Path, name: str) -> None:
    """One test case per gold item (grouped by gold file) and one per bar."""
    suites = ET.Element("testsuites", name=f"assistant eval ({name})")
    by_file: dict[str, list[ItemRecord]] = {}
    for item in result.items:
        by_file.setdefault(item.source.rpartition(":")[0] or "gold", []).append(item)
    for file, items in by_file.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=file,
            tests=str(len(items)),
            failures=str(sum(not i.passed and i.error is None for i in items)),
            errors=str(sum(i.error is not None for i in items)),
            time=f"{sum(i.latency_ms for i in items) / 1000:.3f}",
        )
        for item in items:
            case = ET.SubElement(
                suite,
                "testcase",
                name=item.id,
                time=f"{item.latency_ms / 1000:.3f}",
                classname=f"{Path(file).stem}.{item.lang}.{item.kind or 'untagged'}",
            )
            if item.error is not None:
                ET.SubElement(case, "error", message=item.error)
            elif not item.passed:
                failure = ET.SubElement(case, "failure", message="; ".join(item.reasons))
                failure.text = f"question: {item.question}\nanswer: {item.answer}"
    if bars:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="quality bars",
            tests=str(len(bars)),
            failures=str(sum(not b.ok for b in bars)),
            errors="0",
            time="0",
        )
        for bar in bars:
            case = ET.SubElement(suite, "testcase", classname="bars", name=bar.bar.label, time="0")
            if not bar.ok:
                ET.SubElement(case, "failure", message=bar.describe())
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
