"""Static parts of the page: labels in Dutch and English, CSS, the chip script, the theme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["CSS", "EXAMPLES", "HEAD", "LABELS", "PAGE_SCRIPT", "STATIC_PATH", "i18n", "theme"]

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Ask the EU Council conclusions on malicious cyber activities (16 April 2018)",
        "intro": "Answers quote the document and cite its paragraphs; click a citation to read it.",
        "chat": "Conversation",
        "question": "Your question",
        "placeholder": "Ask a question about the conclusions…",
        "send": "Ask",
        "clear": "Clear conversation",
        "examples": "Example questions",
        "paragraph_tab": "Cited paragraph",
        "document_tab": "Whole document",
        "pane_hint": "Click a citation such as [§4] to see the paragraph here.",
        "details": "Details of the last answer",
        "documents": "Documents",
        "documents_info": "Answer from these documents only (none chosen: all of them).",
    },
    "nl": {
        "title": "Vraag het de Raadsconclusies over kwaadwillige cyberactiviteiten (16 april 2018)",
        "intro": (
            "Antwoorden citeren het document met paragraafnummers; "
            "klik op een citaat om het te lezen."
        ),
        "chat": "Gesprek",
        "question": "Uw vraag",
        "placeholder": "Stel een vraag over de conclusies…",
        "send": "Vraag",
        "clear": "Gesprek wissen",
        "examples": "Voorbeeldvragen",
        "paragraph_tab": "Geciteerde paragraaf",
        "document_tab": "Hele document",
        "pane_hint": "Klik op een citaat zoals [§4] om de paragraaf hier te zien.",
        "details": "Details van het laatste antwoord",
        "documents": "Documenten",
        "documents_info": "Alleen uit deze documenten antwoorden (geen gekozen: alle).",
    },
}

EXAMPLES: list[str] = [
    "Wat veroordeelt de EU met klem?",
    "Welke rol speelt het internationaal recht in de cyberspace?",
    "What does the EU say about the UN GGE report?",
    "Which incidents does the EU condemn?",
]

# The page's own script (citation chips): a file served from the app's own origin, since
# the content security policy allows no inline or evaluated script.
PAGE_SCRIPT = Path(__file__).with_name("static") / "page.js"
STATIC_PATH = "/ui-static"
HEAD = f'<script src=".{STATIC_PATH}/page.js" defer></script>'

CSS = """
#title p { font-size: 1.35em; font-weight: 700; margin: 0; }
.cite-chip { display: inline-block; padding: 0 .45em; margin: 0 .1em; border-radius: 999px;
  background: #dbe7ff; color: #123a8c !important; font-weight: 600; font-size: .85em;
  text-decoration: none !important; cursor: pointer; border: 1px solid #9db8f0; }
.cite-chip:hover, .cite-chip:focus { background: #123a8c; color: #fff !important; }
.abstention { border-left: 4px solid #c77700; background: #fff6e5; padding: .4em .8em;
  border-radius: 4px; color: #4a3000; }
.abstention-label { display: block; text-transform: uppercase; font-size: .75em;
  letter-spacing: .05em; color: #8a5200; }
.paragraph-view mark.cited { background: #ffe58a; padding: 0 .1em; border-radius: 2px; }
.paragraph-view h3 { margin-top: 0; }
.document { max-height: 560px; overflow-y: auto; }
.doc-paragraph { margin-bottom: .8em; line-height: 1.45; }
.doc-paragraph .pnum { font-weight: 700; color: #123a8c; margin-right: .3em; }
.answer-actions { font-size: .85em; margin-top: .4em; }
.answer-actions a, .paragraph-links a, #conversation a { color: #123a8c !important; }
.answer-actions a.rated { font-weight: 700; }
.text-label { font-size: .9em; color: #333; }
/* Keyboard users see where they are (WCAG 2.4.7). */
a:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible,
[role="tab"]:focus-visible { outline: 3px solid #123a8c !important; outline-offset: 2px; }
/* WCAG AA contrast for Gradio's own pale texts: the selected tab, the footer links. */
button[role="tab"].selected, .tab-container button.selected { color: #1e3a8a !important; }
footer a, footer button, .show-api, .settings { color: #374151 !important; }
/* Panes that grow with their text: a scrollable box there would need its own keyboard
   access (axe: scrollable-region-focusable). */
#conversation, #paragraph-pane { overflow: visible !important; max-height: none !important; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0;
  margin: -1px; overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
"""


def i18n(language: str) -> Any:
    """Gradio translations: follow the browser, or pin one language for every locale."""
    import gradio as gr

    if language in LABELS:
        pinned = LABELS[language]
        return gr.I18n(en=pinned, nl=pinned)
    return gr.I18n(**LABELS)


def theme() -> Any:
    """The default theme with system fonts: no font is fetched from outside the machine."""
    import gradio as gr

    # Blue, not the default orange: white on Gradio's orange Ask button failed WCAG AA
    # contrast (axe-core, 2.6:1); on blue-600 it is 5.2:1.
    return gr.themes.Default(
        primary_hue="blue",
        font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    ).set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
    )
