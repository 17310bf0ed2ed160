"""The chat page: layout in ``_layout``, events in ``_wire``, thin callbacks.

Callbacks call the assistant service only, through ``AssistantPort``; all HTML comes
from ``ui.render``, which escapes every text it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from assistant import (
    AnswerResult,
    ParagraphVersion,
    QuestionError,
    Turn,
    WebSettings,
)
from ui.assets import CSS, EXAMPLES, HEAD, i18n, theme
from ui.links import LinkOpener, page_language, with_request
from ui.port import AssistantPort, library_key
from ui.render import (
    TextSwitch,
    answer_html,
    conversation_html,
    document_html,
    paragraph_html,
    parse_cite,
    partial_html,
    question_html,
    word_chunks,
)

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["AssistantPort", "ChatPage"]  # the port, for those who import it from here

Message = dict[str, str]
_STREAM_PAUSE = 0.015  # seconds between streamed chunks, so the answer visibly arrives


class ChatPage:
    """A chat with citation chips beside a paragraph pane and the whole document."""

    def __init__(self, service: Callable[[], AssistantPort], web: WebSettings) -> None:
        self._service = service
        self._web = web
        self._i18n = i18n(web.language)

    def build(self) -> gr.Blocks:
        import gradio as gr

        blocks = gr.Blocks(title="Policy assistant", fill_width=True)
        with blocks:
            self._layout()
            self._wire(blocks)
        blocks.queue(
            default_concurrency_limit=self._web.chat_concurrency,
            max_size=self._web.chat_queue_size,
        )
        return blocks

    def mount_options(self) -> dict[str, Any]:
        """Keyword arguments for ``gr.mount_gradio_app``."""
        return {
            "theme": theme(),
            "css": CSS,
            "head": HEAD,
            "i18n": self._i18n,
            "footer_links": ["api", "settings"],
            "run_history": False,
            "show_error": True,
        }

    # -- layout ------------------------------------------------------------------
    def _layout(self) -> None:
        import gradio as gr

        t = self._i18n
        gr.Markdown(t("title"), elem_id="title")
        gr.Markdown(t("intro"), elem_id="intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.chat = gr.Chatbot(
                    label=t("chat"),
                    elem_id="chat",
                    height=520,
                    render_markdown=False,
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                )
                with gr.Row():
                    self.question = gr.Textbox(
                        label=t("question"),
                        placeholder=t("placeholder"),
                        elem_id="question",
                        scale=5,
                        max_lines=4,
                        autofocus=True,
                    )
                    self.send = gr.Button(t("send"), variant="primary", elem_id="send", scale=1)
                # Shown once the assistant answers from more than one document.
                self.documents = gr.Dropdown(
                    choices=[],
                    value=[],
                    multiselect=True,
                    allow_custom_value=True,  # checked by the service: Gradio logs a traceback
                    label=t("documents"),
                    info=t("documents_info"),
                    elem_id="documents",
                    visible=False,
                )
                gr.Examples(EXAMPLES, inputs=[self.question], label=t("examples"))
                self.clear = gr.Button(t("clear"), variant="secondary", elem_id="clear", size="sm")
                self.conversation = gr.Markdown(elem_id="conversation", sanitize_html=True)
                with gr.Accordion(t("details"), open=False):
                    self.details = gr.JSON(elem_id="details")
            with gr.Column(scale=2), gr.Tabs(selected="paragraph") as self.tabs:
                with gr.Tab(t("paragraph_tab"), id="paragraph"):
                    # Markdown (sanitised HTML), not gr.HTML: that one compiles templates with
                    # eval, which the page's content security policy refuses.
                    self.pane = gr.Markdown(
                        t("pane_hint"), elem_id="paragraph-pane", sanitize_html=True
                    )
                with gr.Tab(t("document_tab"), id="document"):
                    self.document = gr.Markdown(elem_id="document-pane", sanitize_html=True)
        self.turns = gr.State([])
        self.answer_ids = gr.State([])  # the conversation's kept answers, for its download
        self.language = gr.State("nl")
        self.scope = gr.State([])  # the documents chosen in the filter (none: all)
        self.cite = gr.Textbox(visible="hidden", elem_id="cite-target")
        self.cite_go = gr.Button(visible="hidden", elem_id="cite-go")

    # -- events ------------------------------------------------------------------
    def _wire(self, blocks: gr.Blocks) -> None:
        outputs = [
            self.question, self.chat, self.turns, self.details, self.language,
            self.answer_ids, self.conversation,
        ]  # fmt: skip
        ask_inputs = [self.question, self.chat, self.turns, self.answer_ids, self.scope]
        self.question.submit(self.respond, ask_inputs, outputs, api_name="ask")
        self.send.click(self.respond, ask_inputs, outputs, api_visibility="private")
        cleared = [
            self.chat,
            self.turns,
            self.details,
            self.pane,
            self.answer_ids,
            self.conversation,
        ]
        self.clear.click(self.reset, None, cleared, api_name="clear")
        self.chat.clear(self.reset, None, cleared, api_visibility="private")  # its trash icon
        self.cite_go.click(
            self.show_paragraph,
            [self.cite, self.language],
            [self.pane, self.tabs],
            api_name="show_paragraph",
        )
        blocks.load(self._document_loader(), None, [self.document], api_visibility="private")
        blocks.load(self.document_choices, None, [self.documents], api_visibility="private")
        self.documents.change(_chosen, self.documents, self.scope, api_visibility="private")
        opened = [
            self.pane, self.tabs, self.chat, self.turns, self.details, self.language,
            self.answer_ids, self.conversation,
        ]  # fmt: skip
        blocks.load(with_request(self.open_link), None, opened, api_visibility="private")

    def _document_loader(self) -> Callable[..., str]:
        """``show_document`` as Gradio calls it, with the request (its Accept-Language)."""
        return with_request(self.show_document)

    # -- callbacks -----------------------------------------------------------------
    def respond(
        self,
        question: str,
        chat: list[Message],
        turns: list[dict[str, str]],
        answer_ids: list[str] | None = None,
        scope: list[str] | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Ask the assistant and stream the answer into the chat."""
        import gradio as gr

        service = self._port()
        chat = list(chat or [])
        history = [Turn.model_validate(turn) for turn in turns or []]
        later = (gr.skip(), gr.skip())  # the answer ids and the conversation's download
        try:
            # The question (and the chosen documents) are validated at once.
            pieces = service.ask_stream(question, history, documents=scope or None)
        except QuestionError as exc:
            gr.Warning(str(exc))
            yield gr.skip(), chat, turns, gr.skip(), gr.skip(), *later
            return
        question = question.strip()
        chat += [
            {"role": "user", "content": question_html(question)},
            {"role": "assistant", "content": partial_html("…")},
        ]
        yield "", chat, turns, gr.skip(), gr.skip(), *later
        shown = ""
        try:
            for item in pieces:
                if isinstance(item, AnswerResult):
                    result = item
                    break
                body = item.lstrip()
                lead = shown + item[: len(item) - len(body)]
                for prefix in word_chunks(body):  # each piece as it comes, word by word
                    chat[-1] = {"role": "assistant", "content": partial_html(lead + prefix)}
                    yield "", chat, turns, gr.skip(), gr.skip(), *later
                    time.sleep(_STREAM_PAUSE)
                shown += item
            else:
                raise RuntimeError("the answer ended without its result")
        finally:
            pieces.close()  # the page was left mid-answer: the model's stream stops too
        chat[-1] = {"role": "assistant", "content": answer_html(result, library_key(service))}
        turns = [
            *(turns or []),
            {"role": "user", "content": question},
            {"role": "assistant", "content": result.answer},
        ]
        ids = [*(answer_ids or []), result.id]
        yield (
            "", chat, turns, result.model_dump(mode="json"), result.language,
            ids, conversation_html(ids, result.language),
        )  # fmt: skip

    def reset(self) -> tuple[list[Message], list[dict[str, str]], None, str, list[str], str]:
        """Forget the conversation."""
        return [], [], None, "", [], ""

    def open_link(self, request: gr.Request) -> tuple[Any, ...]:
        """Open the page where a link points (see ``ui.links``)."""
        return LinkOpener(self._port).open(request)

    def show_paragraph(self, reference: str, language: str) -> tuple[str, Any]:
        """The paragraph a chip points at, with its cited sentences highlighted."""
        import gradio as gr

        try:
            cite = parse_cite(reference)
            port = self._port()
            paragraph = port.paragraph(cite.number, cite.document)
            version = (
                port.paragraph_version(cite.number, cite.language)
                if cite.language and cite.document is None
                else None
            )
        except (ValueError, KeyError) as exc:  # a bad reference: the client's error, no traceback
            message = str(exc.args[0] if exc.args else exc)
            raise gr.Error(message, print_exception=False) from None
        if version is None:
            return paragraph_html(paragraph, cite.spans, language), gr.Tabs(selected="paragraph")
        # The answer quoted a version: the pane shows it, with a switch to the original.
        named = f"{version.label} ({version.language})"
        original = f"{version.original_label} ({version.original_language})"
        if cite.original:
            switch = TextSwitch(original, named, cite.switched())
            html = paragraph_html(paragraph, cite.spans, language, switch)
        else:
            switch = TextSwitch(named, original, cite.switched())
            html = paragraph_html(version, cite.version_spans, language, switch)
        return html, gr.Tabs(selected="paragraph")

    def document_choices(self) -> Any:
        """The filter's documents; hidden while there is only one."""
        import gradio as gr

        documents = self._port().documents()
        return gr.Dropdown(choices=[(d.title, d.id) for d in documents], visible=len(documents) > 1)

    def show_document(self, request: gr.Request) -> str:
        """The whole cleaned document, numbered; first in the page's language where a version
        in it exists (the pinned language, else the browser's), the original under it."""
        port = self._port()
        paragraphs = port.paragraphs()
        title = "Conclusies van de Raad over kwaadwillige cyberactiviteiten (ST 7925/18)"
        version: list[ParagraphVersion] = []
        wanted = page_language(self._web.language, request)
        if wanted in port.languages()[1:]:
            version = [port.paragraph_version(p.number, wanted) for p in paragraphs]
        return document_html(paragraphs, title, self._web.original_url, version)

    def _port(self) -> AssistantPort:
        import gradio as gr

        try:
            return self._service()
        except RuntimeError as exc:  # still loading, or failed to: said on the page and logged
            raise gr.Error(str(exc), print_exception=False) from None


def _chosen(value: Any) -> list[str]:
    """The filter's value as the ids it holds (a client may send anything)."""
    return [v for v in value if isinstance(v, str)][:100] if isinstance(value, list) else []
