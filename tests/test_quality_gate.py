"""The project's quality gate: bars on the dev split (tuned on) and the blind test split.

The bars hold today's level with a small margin, so a change that loses quality fails
here; the issue's targets, not yet met, are in the README's quality section. Uses the
session ``service`` fixture of conftest.py (defaults, real index on tmp).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant import AssistantService
from assistant.evaluation.pytest_plugin import assert_quality

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "tests" / "gold"
DEV = [GOLD / "dev.jsonl", GOLD / "dev-languages.jsonl"]
DEV_EXTRA = GOLD / "dev-extra.jsonl"
TEST = GOLD / "test.jsonl"
TEST_FRESH = GOLD / "test-fresh.jsonl"
# Measured (README): dev hit@1 0.908 (nl 0.946), cite P 0.866, abstain 0.963, answered 1.000,
# contains 0.982; test 0.861 (nl 0.927), 0.812, 0.953, 0.993, 0.937.
DEV_BARS = {
    "hit@1": 0.88,
    "lang:nl/hit@1": 0.92,
    "citation_precision": 0.82,
    "abstention_accuracy": 0.93,
    "answered": 0.97,
    "contains_accuracy": 0.95,
}
# dev-extra.jsonl (200 questions, written blind, added after the first constants were
# chosen): hit@1 0.906, cite P 0.872, abstain 0.950, answered 0.977, contains 0.910.
DEV_EXTRA_BARS = {
    "hit@1": 0.88,
    "citation_precision": 0.82,
    "abstention_accuracy": 0.90,
    "answered": 0.95,
    "contains_accuracy": 0.88,
}
TEST_BARS = {
    "hit@1": 0.83,
    "lang:nl/hit@1": 0.87,
    "citation_precision": 0.78,
    "abstention_accuracy": 0.92,
    "answered": 0.97,
    "contains_accuracy": 0.91,
}
# test-fresh.jsonl (160 questions written blind on 2026-12-02, third session, run on each
# change only to report it): hit@1 0.862 (nl 0.906), cite P 0.775, abstain 0.906, answered
# 0.982, contains 0.900.
TEST_FRESH_BARS = {
    "hit@1": 0.83,
    "lang:nl/hit@1": 0.87,
    "citation_precision": 0.74,
    "abstention_accuracy": 0.87,
    "answered": 0.95,
    "contains_accuracy": 0.87,
}
# The customer's small dev set: Dutch questions must find their paragraph first.
SHARED_BARS = {"lang:nl/hit@1": 0.9, "lang:-nl/hit@3": 0.85, "abstention_accuracy": 0.9}


def _shared_dev() -> Path:
    configured = os.environ.get("ASSISTANT_SHARED_DEV")
    return Path(configured) if configured else REPO.parent / "shared" / "eval" / "dev.jsonl"


# Read at import: the hermetic-env fixture clears ASSISTANT_* before each test runs.
SHARED_DEV = _shared_dev()


def test_dev_split_meets_its_bars(service: AssistantService) -> None:
    assert_quality(DEV, service, DEV_BARS)


def test_dev_extra_questions_meet_their_bars(service: AssistantService) -> None:
    assert_quality([DEV_EXTRA], service, DEV_EXTRA_BARS)


def test_blind_test_split_meets_its_bars(service: AssistantService) -> None:
    assert_quality(TEST, service, TEST_BARS)


def test_fresh_blind_test_split_meets_its_bars(service: AssistantService) -> None:
    assert_quality(TEST_FRESH, service, TEST_FRESH_BARS)


def test_shared_dev_set_meets_the_bars(service: AssistantService) -> None:
    if not SHARED_DEV.is_file():
        pytest.skip(f"shared dev set not found at {SHARED_DEV} (set ASSISTANT_SHARED_DEV)")
    assert_quality(SHARED_DEV, service, SHARED_BARS)
