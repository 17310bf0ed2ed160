"""Quality bars from pytest: ``assert_quality`` and the ``assistant_quality`` fixture.

Use it from any test suite, with your own gold file and bars::

    from assistant.evaluation.pytest_plugin import assert_quality

    def test_quality(tmp_path):
        settings = Settings(data_dir=tmp_path)
        assert_quality("my_gold.jsonl", settings,
                       {"lang:nl/hit@1": 0.9, "lang:-nl/hit@3": 0.85},
                       abstention_accuracy=0.9)

or load it as a plugin (``pytest_plugins = ["assistant.evaluation.pytest_plugin"]`` in a
``conftest.py``, or ``-p assistant.evaluation.pytest_plugin``) and ask for the
``assistant_quality`` fixture, which is ``assert_quality`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from assistant.evaluation.bars import Bar, check_bars, make_bar
from assistant.evaluation.gold import Asker, load_gold_files
from assistant.evaluation.metrics import Report, evaluate, report
from assistant.evaluation.reports import render_failures, render_table
from assistant.settings import Settings, offline_environment

__all__ = ["QualityError", "assert_quality", "assistant_quality", "evaluate_gold"]

GoldPaths = str | Path | Sequence[str | Path]


class QualityError(AssertionError):
    """A quality bar was missed; the message has every bar, the table and the failures."""

    def __init__(self, message: str, result: Report) -> None:
        super().__init__(message)
        self.report = result


def _paths(gold: GoldPaths) -> list[Path]:
    if isinstance(gold, str | Path):
        return [Path(gold)]
    return [Path(g) for g in gold]


def _asker(assistant: Asker | Settings) -> Asker:
    if isinstance(assistant, Settings):
        from assistant.compose import build_assistant

        offline_environment()  # an entry point: a test suite hands it settings
        return build_assistant(assistant).service
    return assistant


def evaluate_gold(gold: GoldPaths, assistant: Asker | Settings) -> Report:
    """Run gold file(s) through ``assistant`` (a service, a baseline, or settings to build one).

    Raises:
        GoldError: a gold line is malformed (every problem listed as ``file:line``).
    """
    asker = _asker(assistant)
    known = None
    document = getattr(asker, "document", None)
    if document is not None:
        known = [p.number for p in document.paragraphs]
    items = load_gold_files(_paths(gold), known)
    return report(evaluate(asker.ask, items))


def _bars(bars: Mapping[str, float] | None, thresholds: Mapping[str, float]) -> list[Bar]:
    parsed = [make_bar(key, value) for key, value in (bars or {}).items()]
    for name, value in thresholds.items():
        # Python names for overall metrics: hit_at_1 -> hit@1.
        parsed.append(make_bar(name.replace("_at_", "@"), value))
    if not parsed:
        raise ValueError("give at least one bar, e.g. hit_at_1=0.9")
    return parsed


def assert_quality(
    gold: GoldPaths,
    assistant: Asker | Settings,
    bars: Mapping[str, float] | None = None,
    /,
    **thresholds: float,
) -> Report:
    """Evaluate ``gold`` and raise ``QualityError`` when any bar is missed.

    Args:
        gold: a gold JSONL file, or several.
        assistant: an ``AssistantService``, a baseline, or ``Settings`` to build one.
        bars: ``{"[SCOPE/]METRIC": minimum}`` as for ``assistant eval --fail-under``,
            e.g. ``{"lang:nl/hit@1": 0.9, "lang:-nl/hit@3": 0.85}``.
        **thresholds: overall minimums by Python name, e.g. ``hit_at_1=0.9``,
            ``abstention_accuracy=0.9``.

    Returns:
        The report, for further assertions of your own.
    """
    __tracebackhide__ = True
    wanted = _bars(bars, thresholds)  # bad bars fail before the (slower) evaluation
    result = evaluate_gold(gold, assistant)
    outcome = check_bars(result.items, wanted)
    missed = [r for r in outcome if not r.ok]
    if missed:
        lines = [
            f"{len(missed)} of {len(outcome)} quality bar(s) missed on "
            f"{', '.join(str(p) for p in _paths(gold))}:"
        ]
        lines += [f"  {r.describe()}" for r in outcome]
        lines += ["", render_table(result), "", render_failures(result)]
        raise QualityError("\n".join(lines), result)
    return result


@pytest.fixture
def assistant_quality() -> Callable[..., Report]:
    """``assert_quality``, as a fixture for suites that load this module as a plugin."""
    return assert_quality
