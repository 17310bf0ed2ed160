"""Links, export, feedback and accessibility of the page, in headless Chromium.

The deployment an intranet runs: under /assistant/ behind a prefix-stripping proxy, with
access control on, framed by an intranet page on another loopback port. axe-core (from the
npm registry, `make axe`) is injected into the page and must find no WCAG 2.1 A/AA
violation, before and after an answer.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.test_browser import TOKEN, WANNACRY, Visit
from tests.web_support import CHROMIUM, REPO, Deployment, deployed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

AXE = REPO / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class Intranet:
    """The intranet page that frames the assistant, on its own loopback port; it serves
    whatever page ``html`` holds."""

    def __init__(self) -> None:
        self.html = b"<!doctype html><title>Intranet</title>"
        owner = self

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(owner.html)))
                self.end_headers()
                self.wfile.write(owner.html)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def intranet() -> Iterator[Intranet]:
    page = Intranet()
    yield page
    page.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, intranet: Intranet
) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("links")
    env = {
        "ASSISTANT_WEB_AUTH_TOKEN": TOKEN,
        "ASSISTANT_WEB_FRAME_ANCESTORS": intranet.origin,
    }
    with deployed(base / "index", base, prefix="/assistant", env=env) as running:
        yield running


@pytest.fixture
def visit(browser: Any, deployment: Deployment) -> Iterator[Visit]:
    opened = Visit(browser, deployment.url, locale="en-GB")
    yield opened
    opened.context.close()


def _settled(visit: Visit) -> None:
    """Wait until no component is pending: Gradio dims one while its event runs, and a dimmed
    text is a passing state, not the page as read."""
    visit.page.wait_for_function("() => document.querySelectorAll('.pending').length === 0")
    visit.page.wait_for_timeout(400)  # the fade back to full opacity


def _axe(visit: Visit) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now (once settled)."""
    _settled(visit)
    if not AXE.is_file():
        message = f"axe-core is missing ({AXE}); run 'make axe'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Evaluated over the DevTools protocol, which the page's CSP does not govern.
    visit.page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = visit.page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))",
        WCAG,
    )
    return found


def test_axe_finds_no_wcag_violation_before_and_after_an_answer(visit: Visit) -> None:
    visit.open()
    before = _axe(visit)
    assert before == [], before
    bot = visit.ask(WANNACRY)
    bot.locator("a.cite-chip").first.click()
    visit.page.locator("#paragraph-pane article mark.cited").first.wait_for(timeout=15_000)
    after = _axe(visit)
    assert after == [], after


def test_keyboard_alone_asks_a_question_and_opens_a_chip(visit: Visit) -> None:
    visit.open()
    page = visit.page
    box = page.locator("#question textarea")
    assert box.evaluate("el => el === document.activeElement")  # focused on load
    page.keyboard.type(WANNACRY)
    page.keyboard.press("Enter")
    chip = page.locator('[data-testid="bot"] a.cite-chip').first
    chip.wait_for(timeout=60_000)
    page.locator('[data-testid="bot"] .answer:not(.streaming)').wait_for(timeout=60_000)
    for _ in range(80):  # Tab through the page until the chip has the focus
        page.keyboard.press("Tab")
        if chip.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("no Tab press reached the citation chip")
    outline = chip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("", "none")  # the focus is visible
    page.keyboard.press("Enter")
    pane = page.locator("#paragraph-pane article.paragraph-4")
    pane.wait_for(timeout=15_000)
    assert pane.locator("mark.cited").count() >= 1
    # The final answer was announced once, in the polite live region, not word by word.
    announced = page.locator("#assistant-announcer")
    assert announced.get_attribute("aria-live") == "polite"
    assert "WannaCry" in announced.inner_text()


def test_paragraph_and_answer_links_reopen_the_page_under_the_prefix(visit: Visit) -> None:
    visit.open()
    bot = visit.ask(WANNACRY)
    link = bot.locator("a.answer-link")
    href = link.get_attribute("href") or ""
    assert href.startswith("?answer=")
    answer_id = href.removeprefix("?answer=")
    # A paragraph link opens the page with that paragraph in the pane.
    visit.page.goto(visit.url + "/?p=4")
    pane = visit.page.locator("#paragraph-pane article.paragraph-4")
    pane.wait_for(timeout=30_000)
    assert "WannaCry" in pane.inner_text()
    assert pane.locator("a.paragraph-link").get_attribute("href") == "?p=4"
    # An answer link reopens the question, the answer with its chips, and §4 highlighted.
    visit.page.goto(visit.url + "/" + href)
    visit.page.locator("#paragraph-pane article.paragraph-4 mark.cited").wait_for(timeout=30_000)
    assert WANNACRY in visit.page.locator('[data-testid="user"]').last.inner_text()
    restored = visit.page.locator('[data-testid="bot"]').last
    assert restored.locator('a.cite-chip[href^="#cite=4:"]').count() == 1
    assert all(u.split("?")[0].startswith(visit.url) for u in visit.requests if "127.0.0.1" in u)
    # Without credentials the link is refused like the page.
    assert httpx.get(visit.url + "/" + href).status_code == 401
    assert answer_id in visit.page.locator("a.answer-link").last.get_attribute("href")


def test_an_answer_downloads_rates_and_the_conversation_downloads(visit: Visit) -> None:
    visit.open()
    bot = visit.ask(WANNACRY)
    export = bot.locator("a.answer-export").get_attribute("href") or ""
    markdown = visit.page.request.get(visit.url + "/" + export)  # with the session cookie
    assert markdown.status == 200
    assert f"# {WANNACRY}" in markdown.text()
    assert "§4" in markdown.text()
    conversation = visit.page.locator("#conversation a.conversation-export")
    conversation.wait_for(timeout=15_000)
    whole = visit.page.request.get(visit.url + "/" + (conversation.get_attribute("href") or ""))
    assert whole.status == 200
    assert f"## {WANNACRY}" in whole.text()
    up = bot.locator("a.feedback-up")
    with visit.page.expect_response(lambda r: r.url.endswith("/feedback")) as sent:
        up.click()
    assert sent.value.status == 201
    visit.page.wait_for_function(
        "() => document.querySelector('a.feedback-up')?.getAttribute('aria-pressed') === 'true'"
    )
    # A "not helpful" asks for a comment, which is sent with it.
    visit.page.once("dialog", lambda dialog: dialog.accept("the wrong paragraph"))
    with visit.page.expect_response(lambda r: r.url.endswith("/feedback")) as sent:
        bot.locator("a.feedback-down").click()
    assert sent.value.status == 201
    assert sent.value.request.post_data_json == {
        "rating": "down",
        "comment": "the wrong paragraph",
    }


def test_a_paragraph_link_works_inside_the_intranets_iframe(
    visit: Visit, deployment: Deployment, intranet: Intranet
) -> None:
    intranet.html = (
        "<!doctype html><title>Intranet</title><h1>Intranet</h1>"
        f'<iframe id="assistant" src="{deployment.url}/?p=4" title="Policy assistant" '
        'style="width:1200px;height:900px;border:0"></iframe>'
    ).encode()
    visit.open()  # signed in: the session cookie goes with the framed page (same site)
    visit.page.goto(intranet.origin + "/")
    frame = visit.page.frame_locator("#assistant")
    pane = frame.locator("#paragraph-pane article.paragraph-4")
    pane.wait_for(timeout=30_000)
    assert "WannaCry" in pane.inner_text()
