"""The ``assistant`` command in a real subprocess: outputs and exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shipped_entries

pytestmark = pytest.mark.slow


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    built = run(path, "index")
    assert built.returncode == 0, built.stderr
    assert "built (no index yet)" in built.stdout
    return path


def test_index_is_idempotent_and_rebuild_forces(data_dir: Path) -> None:
    again = run(data_dir, "index")
    assert again.returncode == 0
    assert f"up to date: {shipped_entries()} entries" in again.stdout
    forced = run(data_dir, "index", "--rebuild")
    assert forced.returncode == 0
    assert "built (rebuild requested)" in forced.stdout


def test_ask_prints_a_cited_answer(data_dir: Path) -> None:
    result = run(data_dir, "ask", "Wat veroordeelt de EU met klem?")
    assert result.returncode == 0, result.stderr
    assert "WannaCry" in result.stdout
    assert "[§4]" in result.stdout


def test_ask_json_is_the_result_type(data_dir: Path) -> None:
    result = run(data_dir, "ask", "Wat is de hoofdstad van Frankrijk?", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["abstained"] is True
    assert payload["citations"] == []
    assert payload["language"] == "nl"
    assert len(payload["ranked"]) == 8
    assert {"answer", "suggestions", "timings_ms", "search_query"} <= set(payload)


def test_ask_with_a_history_file(data_dir: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [
                {"role": "user", "content": "Wat zegt de EU over het internationaal recht?"},
                {"role": "assistant", "content": "Dat het toepasselijk is [§5]."},
            ]
        ),
        encoding="utf-8",
    )
    result = run(
        data_dir,
        "ask",
        "En welk verslag wordt daarbij genoemd?",
        "--json",
        "--history",
        str(history),
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ranked"][0]["paragraph"] == 5
    assert "2015" in payload["answer"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", ""), "empty"),
        (("ask", "Wat\x01 zegt de EU?"), "control characters"),
        (("ask", "x" * 2500), "limit is 2000"),
        (("show", "8"), "no paragraph 8"),
        (("show", "vier"), "not a paragraph number"),
        (("ask", "Wat?", "--history", "/nonexistent/history.json"), "history file not found"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(data_dir, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_history_file(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "history.json"
    bad.write_text('[{"role": "robot", "content": 1}]', encoding="utf-8")
    result = run(data_dir, "ask", "Wat?", "--history", str(bad))
    assert result.returncode == 2
    assert "history.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_paragraphs_and_show(data_dir: Path) -> None:
    listing = run(data_dir, "paragraphs")
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()] == [f"§{n}" for n in range(8)]
    shown = run(data_dir, "show", "§3", "--json")
    payload = json.loads(shown.stdout)
    assert payload["number"] == 3
    assert len(payload["sentences"]) == 2


def test_chat_keeps_the_conversation(data_dir: Path) -> None:
    result = run(
        data_dir,
        "chat",
        stdin="Welke cyberaanvallen noemt de EU bij naam?\nEn wat waren de gevolgen daarvan?\n\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[§4]") >= 2


def test_damaged_index_is_reported_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    assert run(tmp_path, "index").returncode == 0
    database = tmp_path / "chroma" / "chroma.sqlite3"
    database.write_bytes(b"garbage" * 1000)
    repaired = run(tmp_path, "ask", "Wat veroordeelt de EU met klem?")
    assert repaired.returncode == 0, repaired.stderr
    assert "cannot be opened" in repaired.stderr
    assert "building a new index" in repaired.stderr
    assert "Traceback" not in repaired.stderr
    assert "[§4]" in repaired.stdout
    # Nothing is lost: the damaged store is kept aside for inspection.
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("chroma.damaged-")]
    assert len(aside) == 1
    assert (aside[0] / "chroma.sqlite3").read_bytes().startswith(b"garbage")
