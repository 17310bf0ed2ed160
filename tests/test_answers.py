"""Kept answers: the SQLite store, export, feedback candidates and the audit trail.

The store is the real one on tmp_path; the full disk is a real small tmpfs in a private
mount namespace (as in ``test_disk_full.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import AnswerResult, AnswerStore, Citation, Settings, StoreError, Turn
from assistant.evaluation import load_gold_files
from assistant.export import answer_markdown, conversation_markdown
from assistant.records import audit_lines, feedback_candidates, parse_since
from index.document import Document, load_document
from tests.conftest import REPO

TITLE = "Conclusies van de Raad over kwaadwillige cyberactiviteiten, 16 april 2018"


@pytest.fixture(scope="module")
def document() -> Document:
    settings = Settings()
    return load_document(settings.document_path, settings.errata_path)


def _result(document: Document, question: str = "Wat veroordeelt de EU?") -> AnswerResult:
    four = document.paragraph(4)
    citation = Citation.quoting(four, four.sentences[:1])
    return AnswerResult(
        question=question,
        answer=f"{four.sentences[0].text} [§4]",
        abstained=False,
        citations=[citation],
        ranked=[],
        language="nl",
        search_query=question,
        timings_ms={"total": 12.5},
    )


def test_an_answer_is_kept_and_read_back_after_a_restart(
    tmp_path: Path, document: Document
) -> None:
    path = tmp_path / "answers.sqlite3"
    store = AnswerStore(path)
    result = _result(document)
    history = [Turn(role="user", content="Eerder")]
    store.save(result, "offline", history)
    store.close()
    reopened = AnswerStore(path)  # a new process would open it like this
    stored = reopened.get(result.id)
    assert stored is not None
    assert stored.result == result
    assert stored.history == history
    assert stored.answerer == "offline"
    assert reopened.get("0" * 32) is None


def test_the_store_is_bounded_by_count(tmp_path: Path, document: Document) -> None:
    store = AnswerStore(tmp_path / "answers.sqlite3", max_answers=3)
    kept = [_result(document, f"Vraag {n}?") for n in range(60)]
    for result in kept:
        store.save(result, "offline", [])
    # Pruned every 50 saves: after the 51st, only the newest 3 of that moment remain.
    assert store.stats()["answers"] <= 3 + 9
    assert store.get(kept[0].id) is None
    assert store.get(kept[-1].id) is not None


def test_feedback_needs_a_kept_answer_and_becomes_candidate_gold(
    tmp_path: Path, document: Document
) -> None:
    settings = Settings(data_dir=tmp_path)
    store = AnswerStore(tmp_path / "answers.sqlite3")
    up, down = _result(document), _result(document, "Wie zat achter NotPetya?")
    for result in (up, down):
        store.save(result, "offline", [])
    assert store.add_feedback("f" * 32, "up") is None
    assert store.add_feedback(up.id, "up", "precies") is not None
    assert store.add_feedback(down.id, "down", "dat staat er niet") is not None
    store.close()
    lines = [json.loads(line) for line in feedback_candidates(settings)]
    assert [line["kind"] for line in lines] == ["feedback-up", "feedback-down"]
    assert lines[0]["paragraphs"] == [4]
    assert lines[0]["comment"] == "precies"
    assert lines[1]["paragraphs"] == []  # for the evaluator to fill in
    gold = tmp_path / "candidates.jsonl"
    gold.write_text(json.dumps(lines[0], ensure_ascii=False) + "\n", encoding="utf-8")
    [item] = load_gold_files([gold], known_paragraphs=range(8))  # a valid gold line
    assert item.question == up.question
    assert item.answerable


def test_the_audit_trail_is_off_by_default_and_keeps_no_question_unless_allowed(
    tmp_path: Path, document: Document
) -> None:
    off = AnswerStore(tmp_path / "off.sqlite3")
    off.save(_result(document), "offline", [])
    assert off.audit_entries() == []
    on = AnswerStore(tmp_path / "answers.sqlite3", audit=True)
    result = _result(document)
    on.save(result, "offline", [], request_id="req-1")
    on.close()
    [line] = audit_lines(Settings(data_dir=tmp_path))
    entry = json.loads(line)
    assert entry["answer_id"] == result.id
    assert entry["request_id"] == "req-1"
    assert entry["citations"] == [4]
    assert entry["question"] is None
    assert "token" not in line.lower()
    asked = AnswerStore(tmp_path / "q.sqlite3", audit=True, audit_questions=True)
    asked.save(result, "offline", [])
    assert asked.audit_entries()[0].question == result.question
    assert audit_lines(Settings(data_dir=tmp_path), parse_since("2999-01-01")) == []
    with pytest.raises(ValueError, match="--since takes a date"):
        parse_since("yesterday")


def test_markdown_export_holds_question_sources_document_and_time(document: Document) -> None:
    from assistant import StoredAnswer

    result = _result(document)
    stored = StoredAnswer(id=result.id, created=0.0, answerer="offline", history=[], result=result)
    text = answer_markdown(stored, TITLE)
    assert text.startswith(f"# {result.question}\n")
    assert "**§4**, cited: De EU veroordeelt met klem" in text
    assert "> De EU veroordeelt" in text  # the paragraph's text, quoted
    assert TITLE in text
    assert "1970-01-01 00:00 UTC by offline" in text
    whole = conversation_markdown([(result.question, result), ("Nog iets?", None)], TITLE)
    assert whole.count("## ") == 2
    assert "(no answer)" in whole


def test_a_damaged_store_is_left_as_it_is_and_answering_goes_on(
    tmp_path: Path, document: Document
) -> None:
    path = tmp_path / "answers.sqlite3"
    garbage = b"this is not a database\x00" * 100
    path.write_bytes(garbage)
    store = AnswerStore(path)
    with pytest.raises(StoreError):
        store.save(_result(document), "offline", [])
    assert store.degraded is not None
    assert "answers.sqlite3" in store.degraded
    assert path.read_bytes() == garbage  # nothing was overwritten or deleted


def _private_mounts_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


_FULL_DISK = """
import json, os, sys
from pathlib import Path
from assistant import AnswerResult, AnswerStore, StoreError
mount = Path(sys.argv[1])
store = AnswerStore(mount / "answers.sqlite3")
def answer(n):
    return AnswerResult(question=f"Vraag {n}? " + "x" * 2000, answer="a", abstained=False,
                        citations=[], ranked=[], language="nl", search_query="q")
first = [answer(n) for n in range(5)]
for result in first:
    store.save(result, "offline", [])
filler = mount / "filler"
fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # a colleague's download fills the disk
try:
    while True:
        os.write(fd, b"\\0" * 4096)
except OSError:
    pass
os.close(fd)
failed = None
for n in range(5, 200):
    try:
        store.save(answer(n), "offline", [])
    except StoreError as error:
        failed = str(error)
        break
degraded = store.degraded
store.close()
filler.unlink()
again = AnswerStore(mount / "answers.sqlite3")
print(json.dumps({"failed": failed, "degraded": degraded,
                  "kept": [again.get(r.id) is not None for r in first]}))
"""


@pytest.mark.slow
def test_a_full_disk_degrades_the_store_and_loses_nothing(tmp_path: Path) -> None:
    if not _private_mounts_work():
        if os.environ.get("CI"):
            pytest.fail("CI must be able to make a private mount (unshare -Urm)")
        pytest.skip("this machine does not allow private mounts (unshare -Urm)")
    mount = tmp_path / "disk"
    mount.mkdir()
    script = tmp_path / "full.py"
    script.write_text(_FULL_DISK, encoding="utf-8")
    command = f"mount -t tmpfs -o size=256k tmpfs {mount} && {sys.executable} {script} {mount}"
    run = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["failed"] is not None
    assert "full" in outcome["failed"]
    assert outcome["degraded"]
    assert outcome["kept"] == [True] * 5  # every answer kept before the disk filled


@pytest.mark.slow
@pytest.mark.server
def test_a_server_with_a_damaged_store_answers_and_says_degraded(tmp_path: Path) -> None:
    import httpx

    from tests.web_support import deployed

    data = tmp_path / "data"
    data.mkdir()
    garbage = b"SQLite format 3\x00 but not really" * 64
    (data / "answers.sqlite3").write_bytes(garbage)
    with deployed(data, tmp_path) as running, httpx.Client(base_url=running.url) as client:
        answered = client.post("/api/ask", json={"question": "Wat veroordeelt de EU met klem?"})
        assert answered.status_code == 200
        assert answered.json()["citations"][0]["paragraph"] == 4
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert "answers.sqlite3" in health.json()["detail"]
        export = client.get(f"/api/answers/{answered.json()['id']}")
        assert export.status_code == 503
    assert (data / "answers.sqlite3").read_bytes() == garbage  # nothing lost or overwritten
