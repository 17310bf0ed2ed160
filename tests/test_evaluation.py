"""Metric arithmetic on hand-computed cases, gold loading and linting, the pytest helper."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.evaluation import (
    METRIC_NAMES,
    GoldError,
    GoldItem,
    evaluate,
    lint_gold,
    load_gold,
    load_gold_files,
    metrics,
    record,
    report,
    select,
)
from assistant.evaluation.pytest_plugin import QualityError, assert_quality, evaluate_gold
from assistant.result import AnswerResult, Citation, RankedParagraph, Turn


def _item(**fields: object) -> GoldItem:
    base: dict[str, object] = {
        "id": "q1",
        "lang": "nl",
        "question": "Wat?",
        "answerable": True,
        "paragraphs": [4],
    }
    return GoldItem.model_validate({**base, **fields})


def _result(
    ranked: Sequence[int | tuple[int, float]],
    cited: Sequence[int] = (),
    *,
    abstained: bool = False,
    answer: str = "",
) -> AnswerResult:
    entries = []
    for position, entry in enumerate(ranked):
        number, score = entry if isinstance(entry, tuple) else (entry, 1.0 / (position + 1))
        entries.append(RankedParagraph(paragraph=number, score=score, dense=score, bm25=0.0))
    return AnswerResult(
        question="Wat?",
        answer=answer,
        abstained=abstained,
        citations=[Citation(paragraph=n, text="", sentences=[]) for n in cited],
        ranked=entries,
        language="nl",
        search_query="Wat?",
    )


# -- ranks, ties and duplicates ----------------------------------------------------


@pytest.mark.parametrize(
    ("ranked", "gold", "rank"),
    [
        ([4, 2, 1], [4], 1),
        ([2, 4, 1], [4], 2),
        ([2, 1, 0, 4], [4], 4),
        ([2, 1], [4], None),
        ([3, 3, 4], [4], 2),  # a repeated paragraph counts at its first position
        ([6, 5, 1], [5, 6], 1),  # multi-paragraph gold: any one is a hit
        ([1, 6, 5], [5, 6], 2),
        ([(2, 0.5), (4, 0.5), (1, 0.1)], [4], 2),  # tied with the one above
        ([(4, 0.5), (2, 0.5), (1, 0.1)], [4], 2),  # listed first, but the tie counts against
        ([(4, 0.5), (5, 0.5), (2, 0.5)], [4, 5], 2),  # one tied non-gold goes first
        ([(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0)], [0], 4),  # all-zero ranking: no luck
        ([(4, 0.9), (2, 0.5), (3, 0.5)], [4], 1),  # ties below do not matter
    ],
)
def test_rank_of_the_best_gold_paragraph(
    ranked: list[int | tuple[int, float]], gold: list[int], rank: int | None
) -> None:
    assert record(_item(paragraphs=gold), _result(ranked), 1.0).rank == rank


def test_hit_and_mrr_over_answerable_items_only() -> None:
    records = [
        record(_item(id="a"), _result([4, 1]), 10),  # rank 1
        record(_item(id="b"), _result([1, 2, 4]), 20),  # rank 3
        record(_item(id="c"), _result([1, 2, 3, 4]), 30),  # rank 4
        record(_item(id="d"), _result([1]), 40),  # missed
        record(_item(id="u", answerable=False, paragraphs=[]), _result([4], abstained=True), 50),
    ]
    m = metrics(records)
    assert m.n == 5
    assert m.hit_at_1 == 0.25
    assert m.hit_at_3 == 0.5
    assert m.mrr == round((1 + 1 / 3 + 1 / 4 + 0) / 4, 4)


# -- citations and abstentions ------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answerable", "cited", "abstained", "precision", "recall"),
    [
        ([4], True, [4], False, 1.0, 1.0),
        ([4], True, [4, 5], False, 0.5, 1.0),
        ([5, 6], True, [5], False, 1.0, 0.5),  # multi-paragraph gold
        ([5, 6], True, [5, 6], False, 1.0, 1.0),
        ([5, 6], True, [5, 7], False, 0.5, 0.5),
        ([4], True, [], False, 0.0, 0.0),  # answered without citing: nothing supported
        ([4], True, [], True, None, 0.0),  # abstained: asserts nothing, finds nothing
        ([], False, [], True, None, None),  # correct abstention: neither applies
        ([], False, [3], False, 0.0, None),  # answered the unanswerable: precision 0
        ([4], True, [4, 4], False, 1.0, 1.0),  # a repeated citation counts once
    ],
)
def test_citation_precision_and_recall_per_item(
    gold: list[int],
    answerable: bool,
    cited: list[int],
    abstained: bool,
    precision: float | None,
    recall: float | None,
) -> None:
    item = _item(paragraphs=gold, answerable=answerable)
    scored = record(item, _result([1], cited, abstained=abstained), 1.0)
    assert (scored.citation_precision, scored.citation_recall) == (precision, recall)


def test_citation_metrics_average_only_where_defined() -> None:
    records = [
        record(_item(id="a", paragraphs=[5, 6]), _result([5], [5]), 1),  # P 1, R 0.5
        record(_item(id="b"), _result([4], [], abstained=True), 1),  # P -, R 0
        record(_item(id="c", answerable=False, paragraphs=[]), _result([2], [2]), 1),  # P 0
        record(_item(id="d", answerable=False, paragraphs=[]), _result([2], abstained=True), 1),
    ]
    m = metrics(records)
    assert m.citation_precision == 0.5  # (1 + 0) / 2 answered items
    assert m.citation_recall == 0.25  # (0.5 + 0) / 2 answerable items
    assert m.abstention_accuracy == 0.5  # a and d right; b and c wrong


def test_undefined_metrics_are_none_not_zero() -> None:
    only_abstentions = [
        record(_item(id="u", answerable=False, paragraphs=[]), _result([1], abstained=True), 5)
    ]
    m = metrics(only_abstentions)
    assert (m.hit_at_1, m.hit_at_3, m.mrr) == (None, None, None)
    assert (m.citation_precision, m.citation_recall) == (None, None)
    assert m.abstention_accuracy == 1.0
    empty = metrics([])
    assert empty.n == 0
    assert empty.latency_ms_p50 is None


def test_contains_is_case_and_accent_insensitive() -> None:
    item = _item(must_contain=["geïnterpreteerd", "WannaCry"], must_not_contain=["negeer"])
    assert record(item, _result([4], [4], answer="GEINTERPRETEERD, wannacry"), 1).contains_ok
    failed = record(item, _result([4], [4], answer="wannacry, NEGEER dit"), 1)
    assert not failed.contains_ok
    assert "missing 'geïnterpreteerd'" in failed.reasons
    assert "contains forbidden 'negeer'" in failed.reasons


def test_pass_and_reasons() -> None:
    assert record(_item(), _result([4], [4]), 1).passed
    assert record(_item(), _result([4], [3]), 1).reasons == ["cited §3, gold §4"]
    assert record(_item(), _result([4], abstained=True), 1).reasons == [
        "abstained on an answerable question"
    ]
    unanswerable = _item(answerable=False, paragraphs=[])
    assert record(unanswerable, _result([4], [4]), 1).reasons == [
        "answered an unanswerable question"
    ]


def test_percentiles_are_inclusive_interpolation() -> None:
    records = [record(_item(id=str(ms)), _result([4], [4]), ms) for ms in (10, 20, 30, 40)]
    m = metrics(records)
    assert m.latency_ms_p50 == 25.0
    assert m.latency_ms_p95 == 38.5
    assert metrics(records[:1]).latency_ms_p95 == 10.0


def test_an_exception_is_recorded_and_the_run_goes_on() -> None:
    calls: list[str] = []

    def ask(question: str, history: list[Turn]) -> AnswerResult:
        calls.append(question)
        if question == "boom":
            raise RuntimeError("index gone")
        return _result([4], [4])

    items = [_item(id="a", question="boom"), _item(id="b", question="fine")]
    records = evaluate(ask, items, warm_up=False)
    assert calls == ["boom", "fine"]
    assert records[0].error == "RuntimeError: index gone"
    assert not records[0].abstention_ok
    assert not records[0].passed
    assert records[1].passed


def test_warm_up_asks_once_more_untimed() -> None:
    calls: list[str] = []

    def ask(question: str, history: list[Turn]) -> AnswerResult:
        calls.append(question)
        return _result([4], [4])

    assert len(evaluate(ask, [_item(question="x")])) == 1
    assert calls == ["x", "x"]


# -- report shape ------------------------------------------------------------------


def test_report_groups_by_lang_and_kind_with_every_key() -> None:
    records = [
        record(_item(id="a", lang="nl", kind="paraphrase"), _result([4], [4]), 1),
        record(_item(id="b", lang="en", kind="crosslingual"), _result([1, 4], [1]), 2),
        record(_item(id="c", lang="en"), _result([4], [4]), 3),
    ]
    data = json.loads(json.dumps(report(records).to_json()))
    assert set(data) == {"overall", "by_lang", "by_kind", "items"}
    assert set(data["by_lang"]) == {"en", "nl"}
    assert set(data["by_kind"]) == {"crosslingual", "paraphrase", "untagged"}
    for block in [data["overall"], *data["by_lang"].values(), *data["by_kind"].values()]:
        assert list(block) == list(METRIC_NAMES)
    assert data["by_lang"]["en"]["hit@1"] == 0.5
    assert {"question", "ranked", "cited", "abstained", "answer", "reasons", "latency_ms"} <= set(
        data["items"][0]
    )


def test_select_scopes() -> None:
    records = [
        record(_item(id="a", lang="nl", kind="k"), _result([4]), 1),
        record(_item(id="b", lang="en"), _result([4]), 1),
        record(_item(id="c", lang="de", kind="k"), _result([4]), 1),
    ]
    assert [r.id for r in select(records, "lang:-nl")] == ["b", "c"]
    assert [r.id for r in select(records, "lang:nl")] == ["a"]
    assert [r.id for r in select(records, "kind:k")] == ["a", "c"]
    assert [r.id for r in select(records, "kind:untagged")] == ["b"]
    assert len(select(records, "all")) == 3
    with pytest.raises(ValueError, match="unknown scope"):
        select(records, "language:nl")


# -- gold files ----------------------------------------------------------------------

GOOD = {"id": "a", "lang": "nl", "question": "Wat?", "answerable": True, "paragraphs": [1]}


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", "utf-8"
    )
    return path


def test_malformed_lines_are_all_reported_with_file_and_line(tmp_path: Path) -> None:
    gold = _write(
        tmp_path / "g.jsonl",
        [
            GOOD,
            "",
            "{not json",
            {**GOOD, "id": "b", "answerable": "yes"},
            {**GOOD, "id": "c", "colour": "red"},
            [1, 2],
            {**GOOD, "id": "a"},
            {**GOOD, "id": "d", "paragraphs": ["1"]},
        ],
    )
    with pytest.raises(GoldError) as caught:
        load_gold(gold)
    problems = caught.value.problems
    assert any(p.startswith(f"{gold}:3: not valid JSON") for p in problems)
    assert any(p.startswith(f"{gold}:4: answerable") for p in problems)
    assert any(p.startswith(f"{gold}:5: colour") for p in problems)
    assert any(p.startswith(f"{gold}:6: expected a JSON object") for p in problems)
    assert f"{gold}:7: duplicate id 'a' (first at {gold}:1)" in problems
    assert any(p.startswith(f"{gold}:8: paragraphs.0") for p in problems)
    assert len(problems) == 6


def test_lint_checks_paragraphs_and_consistency(tmp_path: Path) -> None:
    first = _write(tmp_path / "one.jsonl", [GOOD, {**GOOD, "id": "b", "paragraphs": [9]}])
    second = _write(
        tmp_path / "two.jsonl",
        [
            {**GOOD, "id": "a"},
            {**GOOD, "id": "c", "paragraphs": []},
            {**GOOD, "id": "d", "answerable": False},
            {**GOOD, "id": "e", "lang": "Dutch"},
        ],
    )
    problems = lint_gold([first, second], range(8))
    assert problems == [
        f"{first}:2: paragraphs [9] do not exist (the document has 0-7)",
        f"{second}:1: duplicate id 'a' (first at {first}:1)",
        f"{second}:2: answerable item without paragraphs",
        f"{second}:3: unanswerable item lists paragraphs [1]",
        f"{second}:4: lang 'Dutch' is not an ISO 639 code like 'nl'",
    ]
    assert lint_gold([first], None) == []  # without a document, paragraphs are not checked


def test_missing_gold_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(GoldError, match="cannot read the gold file"):
        load_gold_files([tmp_path / "absent.jsonl"])


def test_project_gold_files_are_clean() -> None:
    gold = Path(__file__).parent / "gold" / "dev.jsonl"
    assert lint_gold([gold], range(8)) == []
    items = load_gold(gold)
    assert len(items) >= 60  # the floor for the project's own gold set
    kinds = {item.kind for item in items}
    assert {"paraphrase", "crosslingual", "unanswerable", "followup", "injection"} <= kinds
    assert {item.lang for item in items} >= {"nl", "en", "de", "fr"}


# -- the pytest helper (with a scripted system under evaluation) ---------------------


class Scripted:
    """Answers from a table: question -> (ranked, cited, abstained)."""

    def __init__(self, answers: dict[str, tuple[list[int], list[int], bool]]) -> None:
        self.answers = answers
        self.asked = 0

    def ask(self, question: str, history: Sequence[Turn] = ()) -> AnswerResult:
        self.asked += 1
        ranked, cited, abstained = self.answers[question]
        return _result(ranked, cited, abstained=abstained)


@pytest.fixture
def small_gold(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "gold.jsonl",
        [
            {**GOOD, "id": "nl1", "question": "nl1", "paragraphs": [1]},
            {**GOOD, "id": "en1", "lang": "en", "question": "en1", "paragraphs": [2]},
            {**GOOD, "id": "u1", "question": "u1", "answerable": False, "paragraphs": []},
        ],
    )


SCRIPT = {"nl1": ([1, 2], [1], False), "en1": ([3, 2], [3], False), "u1": ([1], [], True)}


def test_assert_quality_passes_and_returns_the_report(small_gold: Path) -> None:
    result = assert_quality(
        small_gold, Scripted(SCRIPT), {"lang:nl/hit@1": 1.0}, hit_at_3=1.0, abstention_accuracy=1.0
    )
    assert result.by_lang["en"].mrr == 0.5


def test_assert_quality_names_every_missed_bar(small_gold: Path) -> None:
    with pytest.raises(QualityError) as caught:
        assert_quality(small_gold, Scripted(SCRIPT), {"lang:-nl/hit@1": 0.9}, mrr=0.9)
    message = str(caught.value)
    assert "lang:-nl/hit@1 = 0 (bar 0.9): BELOW BAR" in message
    assert "mrr = 0.75 (bar 0.9): BELOW BAR" in message
    assert "en1 [en/-]: cited §3, gold §2" in message
    assert caught.value.report.overall.n == 3


def test_assert_quality_rejects_bad_bars_before_asking(small_gold: Path) -> None:
    system = Scripted(SCRIPT)
    with pytest.raises(ValueError, match="unknown metric"):
        assert_quality(small_gold, system, hit_at_5=0.9)
    with pytest.raises(ValueError, match="lower-is-better"):
        assert_quality(small_gold, system, {"latency_ms_p95": 100})
    with pytest.raises(ValueError, match="at least one bar"):
        assert_quality(small_gold, system)
    assert system.asked == 0


def test_evaluate_gold_reports_malformed_gold(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [GOOD, "{"])
    with pytest.raises(GoldError, match=r"bad.jsonl:2"):
        evaluate_gold(bad, Scripted(SCRIPT))


# -- groundedness of generated answers ------------------------------------------------


def _generated(
    answer: str, removed_sentences: int, removed_markers: int = 0, **fields: object
) -> AnswerResult:
    from assistant.result import Removal

    removed = [
        Removal(kind="sentence", paragraph=None, text=f"s{i}", reason="unsupported")
        for i in range(removed_sentences)
    ] + [
        Removal(kind="citation", paragraph=9, text=f"c{i}", reason="there is no paragraph 9")
        for i in range(removed_markers)
    ]
    base = _result([4], [4], answer=answer)
    return base.model_copy(update={"generated": True, "removed": removed, **fields})


def test_cited_sentences_counts_sentences_with_a_marker() -> None:
    from assistant.evaluation import cited_sentences

    assert cited_sentences("Eén [§4]. Twee [§4][§5]. Drie zonder.\nVier [§1].") == 3
    assert cited_sentences("Geen markering.") == 0
    assert cited_sentences("") == 0


def test_groundedness_pools_kept_and_removed_sentences_over_generated_answers() -> None:
    records = [
        # 2 kept, 1 removed sentence (the removed marker is not a sentence)
        record(_item(id="a"), _generated("A [§4]. B [§4].", 1, removed_markers=2), 1),
        # 1 kept, 0 removed; the notice of a cut-off stream carries no marker
        record(_item(id="b"), _generated("C [§4].\nDe rest ontbreekt.", 0), 1),
        # nothing survived: the offline answer is shown, its quotes are not the model's
        record(
            _item(id="c"),
            _generated("Notice.\nQuote [§4].", 3, generated=False, fallback="unverified"),
            1,
        ),
        # the offline answerer: not counted at all
        record(_item(id="d"), _result([4], [4], answer="Quote [§4]."), 1),
    ]
    kept = [r.kept_sentences for r in records]
    assert kept == [2, 1, 0, 0]
    assert [r.removed_sentences for r in records] == [1, 0, 3, 0]
    assert [r.generated for r in records] == [True, True, False, False]
    assert records[2].fallback == "unverified"
    assert metrics(records).groundedness == round(3 / (3 + 4), 4)
    assert metrics(records[:2]).get("groundedness") == 0.75
    assert metrics(records[3:]).groundedness is None  # no generated answer: null, not 0
    assert metrics([]).groundedness is None


def test_item_record_carries_the_rewritten_query() -> None:
    result = _generated("A [§4].", 0, rewritten_query="Welke schade deed WannaCry?")
    item = record(_item(), result, 1)
    assert item.rewritten_query == "Welke schade deed WannaCry?"
    assert item.model_dump()["rewritten_query"] == "Welke schade deed WannaCry?"
