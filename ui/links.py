"""Links into the page: ``?p=4[&lang=en]`` opens a paragraph in the pane, ``?answer=<id>``
reopens a kept answer (its question, answer, citations and earlier turns).

The addresses are relative, so they work under any prefix, behind access control (a
sign-in link keeps them) and inside an intranet's iframe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant import Paragraph, ParagraphVersion
from ui.port import AssistantPort, library_key
from ui.render import answer_html, conversation_html, paragraph_html, question_html

__all__ = ["LinkOpener", "page_language", "with_request"]

_OUTPUTS = 8  # pane, tabs, chat, turns, details, language, answer ids, conversation


class LinkOpener:
    """What the page shows on load for the link it was opened with."""

    def __init__(self, port: Callable[[], AssistantPort]) -> None:
        self._port = port

    def open(self, request: Any) -> tuple[Any, ...]:
        import gradio as gr

        params = request.query_params if request is not None else {}
        try:
            if params.get("answer"):
                return self._answer(str(params["answer"]))
            if params.get("p"):
                return self._paragraph(str(params["p"]), params.get("lang"))
        except (ValueError, KeyError) as exc:  # a stale or mistyped link: said, not raised
            gr.Warning(str(exc.args[0] if exc.args else exc))
        return (gr.skip(),) * _OUTPUTS

    def _paragraph(self, number: str, language: str | None) -> tuple[Any, ...]:
        import gradio as gr

        if not number.isdigit():
            raise ValueError(f"not a paragraph number: {number[:12]!r}")
        port = self._port()
        paragraph = port.paragraph(int(number))
        shown: Paragraph | ParagraphVersion = paragraph
        if language and language in port.languages()[1:]:
            shown = port.paragraph_version(paragraph.number, language)
        pane = paragraph_html(shown, (), language or "nl")
        return (pane, gr.Tabs(selected="paragraph"), *(gr.skip(),) * (_OUTPUTS - 2))

    def _answer(self, answer_id: str) -> tuple[Any, ...]:
        import gradio as gr

        port = self._port()
        stored = port.stored(answer_id)
        if stored is None:
            raise KeyError(f"no answer has the id {answer_id[:64]}; it may be no longer kept")
        result = stored.result
        library = library_key(port)
        chat = [
            *({"role": t.role, "content": question_html(t.content)} for t in stored.history),
            {"role": "user", "content": question_html(result.question)},
            {"role": "assistant", "content": answer_html(result, library)},
        ]
        turns = [
            *(t.model_dump() for t in stored.history),
            {"role": "user", "content": result.question},
            {"role": "assistant", "content": result.answer},
        ]
        pane: Any = gr.skip()
        if result.citations:
            first = result.citations[0]
            spans = [(s.start, s.end) for s in first.sentences]
            document = first.document if first.document != library else None
            paragraph = port.paragraph(first.paragraph, document if library else None)
            pane = paragraph_html(paragraph, spans, result.language)
        return (
            pane, gr.Tabs(selected="paragraph"), chat, turns, result.model_dump(mode="json"),
            result.language, [result.id], conversation_html([result.id], result.language),
        )  # fmt: skip


def with_request(method: Callable[[Any], Any]) -> Callable[..., Any]:
    """``method`` as Gradio calls it with the request: Gradio finds the request by its type
    hint, and this module's hints are strings naming a lazily imported gradio."""
    import gradio as gr

    def call(request: gr.Request) -> Any:
        return method(request)

    call.__annotations__ = {"request": gr.Request, "return": Any}
    return call


def page_language(pinned: str, request: Any) -> str:
    """The page's language: the pinned one, else the browser's first (Accept-Language)."""
    if pinned != "auto":
        return pinned
    header = ""
    if request is not None:
        header = request.headers.get("accept-language", "")
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first.split("-", 1)[0][:3]
