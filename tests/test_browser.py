"""The page in headless Chromium, served under /assistant/ behind a prefix-stripping proxy,
with access control on: the deployment an intranet would run."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.web_support import CHROMIUM, REPO, Deployment, deployed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

TOKEN = "browser-token-0123456789"
WANNACRY = "Wat veroordeelt de EU met klem?"
ARTIFACTS = REPO / "artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    base = tmp_path_factory.getbasetemp()
    env = {"ASSISTANT_WEB_AUTH_TOKEN": TOKEN}
    with deployed(base / "web-index", base, prefix="/assistant", env=env) as running:
        yield running


class Visit:
    """One browser context on the page, recording every request it makes."""

    def __init__(self, browser: Any, url: str, locale: str = "nl-NL") -> None:
        self.context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.referers: list[str] = []
        self.console: list[str] = []  # errors and warnings, CSP violations among them
        self.page.on("request", self._record)
        self.page.on(
            "console",
            lambda m: self.console.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda error: self.console.append(str(error)))
        self.url = url

    def _record(self, request: Any) -> None:
        self.requests.append(request.url)
        self.referers.append(request.headers.get("referer", ""))

    def open(self, token: str | None = TOKEN) -> Any:
        response = self.page.goto(self.url + "/" + (f"?token={token}" if token else ""))
        if response.status == 200:
            self.page.locator("#question textarea").wait_for(timeout=30_000)
        return response

    def ask(self, question: str) -> Any:
        """Type ``question``, press Enter and return the finished bot message."""
        before = self.page.locator('[data-testid="bot"]').count()
        box = self.page.locator("#question textarea")
        box.fill(question)
        box.press("Enter")
        bot = self.page.locator('[data-testid="bot"]').nth(before)
        # Finished when the streamed plain text has been replaced by the final rendering.
        bot.locator(".answer:not(.streaming), .abstention").wait_for(timeout=60_000)
        return bot


@pytest.fixture
def visit(browser: Any, deployment: Deployment) -> Iterator[Visit]:
    opened = Visit(browser, deployment.url)
    yield opened
    opened.context.close()


def test_wannacry_answer_chip_opens_paragraph_4_highlighted(visit: Visit) -> None:
    visit.open()
    bot = visit.ask(WANNACRY)
    chip = bot.locator('a.cite-chip[href^="#cite=4:"]')
    assert chip.count() == 1
    assert chip.inner_text() == "[§4]"
    assert "WannaCry" in bot.inner_text()

    chip.click()
    pane = visit.page.locator("#paragraph-pane article.paragraph-4")
    pane.wait_for(timeout=15_000)
    marked = pane.locator("mark.cited")
    assert marked.count() >= 1
    assert "WannaCry" in marked.first.inner_text()
    assert "domino-effecten" not in " ".join(marked.all_inner_texts())  # only the cited sentence
    assert "domino-effecten" in pane.inner_text()  # ... of the whole paragraph
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "answered.png"
    visit.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_follow_up_question_keeps_citing_the_named_attacks(visit: Visit) -> None:
    visit.open()
    first = visit.ask("Welke cyberaanvallen noemt de EU bij naam?")
    assert first.locator('a.cite-chip[href^="#cite=4:"]').count() >= 1
    follow_up = visit.ask("En wat waren de gevolgen daarvan?")
    assert follow_up.locator(".answer").count() == 1  # an answer, not an abstention
    assert follow_up.locator('a.cite-chip[href^="#cite=4:"]').count() >= 1
    assert visit.page.locator('[data-testid="bot"]').count() == 2


def test_off_topic_question_shows_the_abstention_distinctly(visit: Visit) -> None:
    visit.open()
    bot = visit.ask("Wat is de hoofdstad van Frankrijk?")
    abstention = bot.locator(".abstention")
    assert abstention.count() == 1
    assert "niet in de conclusies" in abstention.inner_text().lower()
    assert bot.locator(".answer").count() == 0
    suggested = abstention.locator("a.cite-chip")
    assert suggested.count() >= 1
    suggested.first.click()
    visit.page.locator("#paragraph-pane article.paragraph-view").wait_for(timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    visit.page.screenshot(path=str(ARTIFACTS / "abstained.png"), full_page=True)


def test_markup_in_a_question_is_shown_as_text(visit: Visit) -> None:
    visit.open()
    visit.page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    visit.ask('<img src=x onerror="alert(1)"><script>alert(2)</script> Wat veroordeelt de EU?')
    user = visit.page.locator('[data-testid="user"]').last
    assert "<script>alert(2)</script>" in user.inner_text()
    assert user.locator("img, script").count() == 0


def test_document_pane_has_every_paragraph_and_the_original_link(visit: Visit) -> None:
    visit.open()
    visit.page.get_by_role("tab", name="Hele document").click()
    document = visit.page.locator("#document-pane .document")
    document.wait_for(timeout=15_000)
    assert document.locator(".doc-paragraph").count() == 8
    assert "§4" in document.locator(".doc-p4").inner_text()
    assert "consilium.europa.eu" in document.locator(".original a").get_attribute("href")


def test_an_english_answer_opens_the_english_version_highlighted_with_a_switch(
    browser: Any, deployment: Deployment
) -> None:
    visit = Visit(browser, deployment.url, locale="en-GB")
    try:
        visit.open()
        bot = visit.ask("Which cyber attacks does the EU condemn?")
        assert "unofficial translation" in bot.inner_text().lower()
        assert "WannaCry and NotPetya" in bot.inner_text()
        assert "WannaCry en NotPetya" in bot.inner_text()  # the Dutch original under it
        chip = bot.locator('a.cite-chip[href*="@en:"]')
        assert chip.count() == 1
        chip.click()
        english = visit.page.locator("#paragraph-pane article.paragraph-4.text-en")
        english.wait_for(timeout=15_000)
        assert "unofficial translation (en)" in english.inner_text()
        marked = " ".join(english.locator("mark.cited").all_inner_texts())
        assert "WannaCry and NotPetya" in marked
        assert "cascading effects" not in marked  # only the cited sentence ...
        assert "cascading effects" in english.inner_text()  # ... of the whole paragraph
        # The switch shows the Dutch original, the same sentence highlighted, and back.
        english.locator("a.text-switch").click()
        original = visit.page.locator("#paragraph-pane article.paragraph-4.text-original")
        original.wait_for(timeout=15_000)
        assert "WannaCry en NotPetya" in " ".join(original.locator("mark.cited").all_inner_texts())
        original.locator("a.text-switch").click()
        visit.page.locator("#paragraph-pane article.paragraph-4.text-en").wait_for(timeout=15_000)
        # The whole document in the page's language first, the original in a fold under it.
        visit.page.get_by_role("tab", name="Whole document").click()
        document = visit.page.locator("#document-pane .document")
        document.wait_for(timeout=15_000)
        assert document.locator(".doc-version").count() == 8
        assert "The EU firmly condemns" in document.locator(".doc-v4").inner_text()
        assert "unofficial translation (en)" in document.locator(".text-label").inner_text()
        fold = document.locator("details.original-text")
        assert fold.locator(".doc-paragraph").count() == 8
        assert not fold.locator(".doc-p4").is_visible()
        fold.locator("summary").click()
        assert "De EU veroordeelt" in fold.locator(".doc-p4").inner_text()
        assert not [line for line in visit.console if "Content Security Policy" in line]
    finally:
        visit.context.close()


def test_page_makes_no_request_outside_the_machine(visit: Visit) -> None:
    visit.open()
    visit.ask(WANNACRY).locator("a.cite-chip").first.click()
    visit.page.locator("#paragraph-pane article").wait_for(timeout=15_000)
    assert len(visit.requests) > 10
    outside = sorted({u for u in visit.requests if urlsplit(u).hostname not in LOCAL_HOSTS})
    assert outside == []
    assert all(urlsplit(u).path.startswith("/assistant/") for u in visit.requests)


def test_page_refuses_a_browser_without_credentials(visit: Visit) -> None:
    response = visit.open(token=None)
    assert response.status == 401
    assert "authentication required" in visit.page.content()


def test_the_page_works_under_its_content_security_policy(visit: Visit) -> None:
    response = visit.open()
    policy = response.headers["content-security-policy"]
    script = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script
    assert "'unsafe-eval'" not in script
    assert "connect-src 'self'" in policy
    visit.ask(WANNACRY).locator('a.cite-chip[href^="#cite=4:"]').click()
    visit.page.locator("#paragraph-pane article.paragraph-4 mark.cited").wait_for(timeout=15_000)
    blocked = [m for m in visit.console if "Content Security Policy" in m or "EvalError" in m]
    assert blocked == []


def test_after_sign_in_the_token_is_in_no_url_referer_or_log(
    visit: Visit, deployment: Deployment
) -> None:
    visit.open()
    assert TOKEN not in visit.page.url
    visit.ask(WANNACRY)
    assert len(visit.requests) > 10
    later = visit.requests[1:]  # after the sign-in link itself
    assert [u for u in later if TOKEN in u] == []
    assert [r for r in visit.referers if TOKEN in r] == []
    assert TOKEN not in deployment.server.log.read_text()
    cookies = visit.context.cookies()
    session = next(c for c in cookies if c["name"] == "assistant_session")
    assert TOKEN not in session["value"]
    assert session["httpOnly"]
    assert session["sameSite"] == "Lax"


ATTACK = """async (target) => {
  const out = {};
  for (const path of ["/config", "/gradio_api/info", "/api/paragraphs/4"]) {
    try {
      const response = await fetch(target + path, {credentials: "include"});
      out[path] = "read " + response.status + ": " + (await response.text()).slice(0, 40);
    } catch (error) {
      out[path] = "blocked";
    }
  }
  const form = new FormData();
  form.append("files", new Blob(["planted"]), "planted.txt");
  // Sent whatever the answer; an opaque answer is not for the page to read (nor may it be:
  // Chromium fails a no-cors fetch whose answer is JSON), the server's status tells.
  const sent = {credentials: "include", mode: "no-cors", method: "POST"};
  await fetch(target + "/gradio_api/upload", {...sent, body: form}).catch(() => null);
  await fetch(target + "/gradio_api/queue/join", {...sent, body: "{}"}).catch(() => null);
  return out;
}"""


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A page server on another loopback port: the same site (cookies ignore ports), another
    origin, and a real one (Chromium refuses requests to loopback from a page it did not
    get from a local address)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><p>another site</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_another_loopback_origin_cannot_read_or_upload_with_the_user_cookie(
    visit: Visit, other_origin: str, deployment: Deployment
) -> None:
    visit.open()  # signed in: the browser holds the session cookie
    attacker = visit.context.new_page()
    statuses: dict[str, int] = {}
    attacker.on("response", lambda r: statuses.setdefault(urlsplit(r.url).path, r.status))
    attacker.goto(f"{other_origin}/attack.html")
    read = attacker.evaluate(ATTACK, visit.url)
    assert read == {p: "blocked" for p in ("/config", "/gradio_api/info", "/api/paragraphs/4")}
    assert deployment.proxy is not None  # it saw what the browser sent
    sent = deployment.proxy.log.read_text().splitlines()
    for path in ("/assistant/gradio_api/upload", "/assistant/gradio_api/queue/join"):
        assert f"POST {path} cookies=assistant_session" in sent  # the cookie went along ...
        assert statuses[path] == 403  # ... and was refused all the same
    assert "GET /assistant/config cookies=assistant_session" in sent


@pytest.fixture(scope="module")
def llm_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The page with answers written by a (scripted) LLM server: two claims from two
    different sentences of §4, each with its own [§4]."""
    from tests.llm_fake import Reply, running

    base = tmp_path_factory.mktemp("browser-llm")
    with running() as fake:
        fake.script(Reply(f"{CLAIM_DAMAGE} {CLAIM_UNACCEPTABLE}"))
        env = {"ASSISTANT_LLM_BASE_URL": fake.base_url, "ASSISTANT_LLM_MODEL": "fake-model"}
        with deployed(base / "index", base, env=env) as running_server:
            yield running_server


CLAIM_DAMAGE = (
    "De EU veroordeelt met klem het kwaadwillige gebruik van ICT's, onder meer in WannaCry "
    "en NotPetya [§4]."
)
CLAIM_UNACCEPTABLE = (
    "Het gebruik van ICT's voor kwaadwillige doeleinden is onaanvaardbaar, aangezien het onze "
    "stabiliteit en veiligheid ondermijnt [§4]."
)


def test_each_generated_claim_chip_highlights_its_own_support(
    browser: Any, llm_deployment: Deployment
) -> None:
    visit = Visit(browser, llm_deployment.url)
    try:
        visit.open(token=None)
        bot = visit.ask(WANNACRY)
        chips = bot.locator('a.cite-chip[href^="#cite=4:"]')
        assert chips.count() == 2
        marks = visit.page.locator("#paragraph-pane article.paragraph-4 mark.cited")
        for index, (own, other) in enumerate([("WannaCry", "onaanvaardbaar"),
                                              ("onaanvaardbaar", "WannaCry")]):  # fmt: skip
            chips.nth(index).click()
            marks.filter(has_text=own).first.wait_for(timeout=15_000)
            assert other not in " ".join(marks.all_inner_texts())  # only its own claim's span
    finally:
        visit.context.close()
