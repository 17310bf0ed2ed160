"""The generative answerer: an OpenAI-compatible LLM writes, the code checks every citation.

It implements the ``Answerer`` port. On any failure (refused connection, timeout, 4xx/5xx,
429, empty or malformed output, no citation surviving verification) it returns the offline
answer with a notice in the question's language and a structured reason. When the
abstention policy says the document does not answer, the model is not called.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.answering import (
    AnswerStream,
    Composed,
    ExtractiveAnswerer,
    abstention,
    with_version,
)
from assistant.llm.client import ChatClient, Fault, LLMError, chat_messages, classify
from assistant.llm.verification import AnswerChecker, CitationVerifier
from assistant.result import Citation, ClaimSupport, Turn
from assistant.retrieval import Ranking
from assistant.settings import LLMSettings
from index.document import Document
from index.versions import Versions
from prompts.llm import AnswerPrompt, RewritePrompt, load_answer_prompt, load_rewrite_prompt
from prompts.messages import MessageBook

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage, BaseMessageChunk

__all__ = ["GenerativeAnswerer"]

_log = logging.getLogger(__name__)

_QUERY_LABEL = re.compile(r"^(?:search )?(?:query|zoekvraag|suchanfrage|requête)\s*:\s*", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TURN_CHARS = 600
_QUERY_CHARS = 500


class GenerativeAnswerer:
    """Answers with an LLM over the retrieved paragraphs; falls back to quoting them."""

    def __init__(
        self,
        settings: LLMSettings,
        document: Document,
        fallback: ExtractiveAnswerer,
        verifier: CitationVerifier,
        messages: MessageBook,
        client: ChatClient,
        *,
        answer_prompt: AnswerPrompt | None = None,
        rewrite_prompt: RewritePrompt | None = None,
        versions: Versions | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._history_turns = settings.rewrite_history_turns
        self._document = document
        self._fallback = fallback
        self._verifier = verifier
        self._messages = messages
        self._versions = versions or Versions()
        self._answer_prompt = answer_prompt or load_answer_prompt()
        self._rewrite_prompt = rewrite_prompt or load_rewrite_prompt()
        missing = set(messages.languages) - set(self._answer_prompt.languages)
        if missing:
            raise ValueError(f"answer.toml has no texts for the languages {sorted(missing)}")

    def close(self) -> None:
        """Close the chat client's connections."""
        self._client.close()

    # -- the port ----------------------------------------------------------------
    def answer(self, question: str, language: str, ranking: Ranking) -> Composed:
        """Generate, verify and return the answer; the offline answer on any failure."""
        offline = self._fallback.answer(question, language, ranking)
        if offline.abstained:
            return offline
        given, checker, messages = self._prepare(question, language, ranking)
        try:
            raw = self._client.invoke(messages)
        except LLMError as error:
            return self._finish(checker, offline, language, ranking, given, error.fault)
        checker.feed(raw)
        checker.finish()
        return self._finish(checker, offline, language, ranking, given, None)

    def stream(self, question: str, language: str, ranking: Ranking) -> AnswerStream:
        """Like ``answer``, but yields each sentence once its markers are verified."""
        return AnswerStream(lambda holder: self._stream(holder, question, language, ranking))

    def rewrite(self, question: str, history: Sequence[Turn]) -> str | None:
        """One standalone search query for a follow-up; None without history or on failure."""
        turns = [(t.role, t.content[:_TURN_CHARS]) for t in history][-self._history_turns :]
        if not any(role == "user" for role, _ in turns):
            return None
        rendered = self._rewrite_prompt.render(question, turns)
        try:
            raw = self._client.invoke(chat_messages(rendered))
        except LLMError as error:
            _log.warning("follow-up rewrite failed (%s): %s", error.fault.kind, error.fault.detail)
            return None
        line = next((x.strip() for x in raw.splitlines() if x.strip()), "")
        query = _CONTROL.sub(" ", _QUERY_LABEL.sub("", line)).strip(" \"'“”«»`")
        return query if 0 < len(query) <= _QUERY_CHARS else None

    # -- calling the model ---------------------------------------------------------
    def _prepare(
        self, question: str, language: str, ranking: Ranking
    ) -> tuple[tuple[int, ...], AnswerChecker, list[BaseMessage]]:
        """The paragraphs given to the model, a checker for its reply, and the messages."""
        given = tuple(ranking.order[: self._settings.max_paragraphs])
        abstain = self._messages.for_language(language).abstain
        paragraphs = [(n, self._document.paragraph(n).text) for n in given]
        version = self._versions.get(language)
        renderings = []
        if version is not None:  # the model reads the paragraphs in the asker's language too
            label = self._messages.for_language(language).label(version.status)
            renderings = [(language, label, version.paragraph(n).text) for n in given]
        rendered = self._answer_prompt.render(question, language, paragraphs, abstain, renderings)
        checker = AnswerChecker(self._verifier, language, given, abstain)
        return given, checker, chat_messages(rendered)

    def _stream(
        self, holder: AnswerStream, question: str, language: str, ranking: Ranking
    ) -> Generator[str, None, None]:
        offline = self._fallback.answer(question, language, ranking)
        if offline.abstained:
            holder.finish(offline)
            yield offline.answer
            return
        given, checker, messages = self._prepare(question, language, ranking)
        deadline = time.monotonic() + self._settings.stream_deadline_s
        fault: Fault | None = None
        chunks: Iterator[BaseMessageChunk] | None = None
        try:
            chunks, chunk = self._client.open_stream(messages)
            received = ""
            while chunk is not None:
                if time.monotonic() > deadline:
                    raise LLMError(Fault("timeout", "the stream took longer than its deadline"))
                received += chunk.text
                shown = checker.feed(chunk.text)
                if shown:
                    yield shown
                chunk = next(chunks, None)
            if not received.strip():
                raise LLMError(Fault("empty", "the stream carried no text"))
            shown = checker.finish()
            if shown:
                yield shown
        except LLMError as error:
            fault = error.fault
        except Exception as error:
            fault = classify(error)
            if fault is None:
                raise
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        result = self._finish(checker, offline, language, ranking, given, fault)
        holder.finish(result)
        rest = result.answer[len(checker.text) :]
        if rest:
            yield rest

    # -- the result ----------------------------------------------------------------
    def _finish(
        self,
        checker: AnswerChecker,
        offline: Composed,
        language: str,
        ranking: Ranking,
        given: tuple[int, ...],
        fault: Fault | None,
    ) -> Composed:
        texts = self._answer_prompt.texts(language)
        removed = tuple(checker.removed)
        if checker.supported:
            version = self._versions.get(language)
            citations = [
                with_version(self._citation(n, s), version, self._messages)
                for n, s in checker.evidence.items()
            ]
            notice = texts.interrupted if fault else None
            answer = f"{checker.text}\n{notice}" if notice else checker.text
            return Composed(
                answer, citations, False, [], None, generated=True, notice=notice,
                fallback=fault.kind if fault else None,
                fallback_detail=fault.detail if fault else None, removed=removed, given=given,
                support=tuple(self._support(claim, n, i) for claim, n, i in checker.claims),
                quote_language=version.language if version else self._versions.original,
            )  # fmt: skip
        if checker.declined and fault is None:
            declined = abstention(
                self._messages.for_language(language),
                ranking,
                "the model found no answer in the paragraphs it was given",
            )
            return replace(declined, generated=True, removed=removed, given=given)
        if fault is None:
            fault = Fault(
                "unverified", f"no citation survived verification ({len(removed)} removed)"
            )
        notice = texts.unverified if fault.kind == "unverified" else texts.unavailable
        _log.warning("offline answer shown (%s): %s", fault.kind, fault.detail)
        return Composed(
            f"{notice}\n{offline.answer}", offline.citations, offline.abstained,
            offline.suggestions, offline.reason, notice=notice, fallback=fault.kind,
            fallback_detail=fault.detail, removed=removed, given=given,
            quote_language=offline.quote_language,
        )  # fmt: skip

    def _support(self, claim: str, number: int, index: int) -> ClaimSupport:
        sentence = next(s for s in self._document.paragraph(number).sentences if s.index == index)
        return ClaimSupport(
            claim=claim, paragraph=number, sentence=index,
            start=sentence.start, end=sentence.end, text=sentence.text,
        )  # fmt: skip

    def _citation(self, number: int, sentences: list[int]) -> Citation:
        paragraph = self._document.paragraph(number)
        return Citation.quoting(paragraph, [s for s in paragraph.sentences if s.index in sentences])
