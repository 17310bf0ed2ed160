"""The assistant service: one question in, one ``AnswerResult`` out.

Every caller (CLI, HTTP API, Gradio page, evaluation) goes through ``AssistantService``:
it validates the question once, runs the retrieval chain and returns one result. The
chain is two LangChain runnables, retrieve then answer; a streamed answer runs the same
retrieve stage, then reads the answerer's stream.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answering import Answerer, Composed
from assistant.answers import AnswerStore, StoredAnswer, StoreError
from assistant.markers import cited_numbers
from assistant.result import AnswerResult, DocumentInfo, ParagraphVersion, Turn
from assistant.retrieval import HybridRetriever, Ranking, SearchQuery
from assistant.settings import Settings
from assistant.shelves import LibraryWatch, Shelf, route
from assistant.text import detect_language, has_surrogate
from index.document import Document, Paragraph
from index.store import ParagraphIndex
from index.versions import Versions
from prompts.messages import MessageBook, load_messages

__all__ = ["AssistantService", "QuestionError", "QuestionTooLong", "Staged"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why (HTTP 422)."""


class QuestionTooLong(QuestionError):
    """The question is longer than the limit (HTTP 413)."""


@dataclass
class Staged:
    """What flows through the chain: each stage fills in its part and its time."""

    query: SearchQuery
    ranking: Ranking | None = None
    shelf: Shelf | None = None  # the document the answer comes from
    composed: Composed | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Asked:
    """A validated question on its way: its turns, its start and (once made) its rewrite."""

    question: str
    turns: list[Turn]
    started: float
    rewritten: str | None = None
    request_id: str = ""
    documents: tuple[str, ...] = ()


class AssistantService:
    """Answers questions about its documents, with citations or an abstention.

    The configured document and its parts are given one by one; the library's
    documents come as ``library``, one shelf each.
    """

    def __init__(
        self,
        settings: Settings,
        document: Document,
        index: ParagraphIndex,
        retriever: HybridRetriever,
        answerer: Answerer,
        versions: Versions | None = None,
        messages: MessageBook | None = None,
        answers: AnswerStore | None = None,
        library: Sequence[Shelf] = (),
        watch: LibraryWatch | None = None,
    ) -> None:
        from langchain_core.runnables import RunnableLambda

        self.settings = settings
        self.document = document
        self.index = index
        self._retriever = retriever
        self._answerer = answerer
        self.versions = versions or Versions(settings.document_language)
        self._messages = messages or load_messages()
        self.answers = answers
        info = DocumentInfo.configured(settings, document)
        self._first = Shelf(info, document, index, retriever, answerer, self.versions)
        self._watch = watch
        self._shelves = self._shelved(library)
        self._retrieve_stage = RunnableLambda(self._retrieve, name="retrieve")
        self._answer_stage = RunnableLambda(self._answer, name="compose")
        self.chain = self._retrieve_stage | self._answer_stage

    def _shelved(self, library: Sequence[Shelf]) -> dict[str, Shelf]:
        shelves = {self._first.id: self._first}
        for shelf in library:
            shelves.setdefault(shelf.id, shelf)
        return shelves

    @property
    def shelves(self) -> dict[str, Shelf]:
        """The documents' shelves by id, the configured one first (the library's as it is now)."""
        if self._watch is not None and (library := self._watch.changed()) is not None:
            # Shelves taken off are left to the collector: an answer may still be using one.
            self._shelves = self._shelved(library)
        return self._shelves

    def close(self) -> None:
        """Release the answerers', the indexes' and the answer store's connections."""
        for shelf in self._shelves.values():
            shelf.close()
        if self.answers is not None:
            self.answers.close()

    def stored(self, answer_id: str) -> StoredAnswer | None:
        """A kept answer, or None (also when answers are not kept).

        Raises:
            StoreError: the answer store is unavailable.
        """
        return self.answers.get(answer_id) if self.answers is not None else None

    def _keep(self, asked: _Asked, result: AnswerResult) -> None:
        """Keep the answer; a store that fails is logged and reported, never in the way."""
        if self.answers is None:
            return
        answerer = self.settings.llm.model if result.generated else "offline"
        with contextlib.suppress(StoreError):
            self.answers.save(result, answerer, asked.turns, asked.request_id)

    # -- the paragraph source ------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        """The documents it answers from: the configured one first, then the library's."""
        return [shelf.info for shelf in self.shelves.values()]

    def shelf(self, document: str | None = None) -> Shelf:
        """The shelf of ``document`` (default: the configured one); KeyError naming the ids."""
        if document is None:
            return self._first
        shelves = self.shelves
        found = shelves.get(document)
        if found is None:
            known = ", ".join(shelves)
            raise KeyError(f"there is no document '{document[:64]}'; the documents: {known}")
        return found

    def paragraphs(self, document: str | None = None) -> list[Paragraph]:
        return list(self.shelf(document).document.paragraphs)

    def paragraph(self, number: int, document: str | None = None) -> Paragraph:
        """Paragraph ``number`` (of ``document``); KeyError with the valid range when unknown."""
        return self.shelf(document).document.paragraph(number)

    def languages(self) -> list[str]:
        """The languages the document can be read in: the original's first, then its versions."""
        return [self.versions.original, *self.versions.languages]

    def paragraph_version(self, number: int, language: str) -> ParagraphVersion:
        """Paragraph ``number`` in the version in ``language``; KeyError saying what exists."""
        self.document.paragraph(number)  # the original's range decides what exists
        version = self.versions.get(language)
        if version is None:
            known = ", ".join(self.versions.languages) or "none"
            raise KeyError(
                f"there is no '{language[:8]}' version of the document; the original is "
                f"'{self.versions.original}', the versions: {known}"
            )
        texts = self._messages.for_language(language)
        rendered = version.paragraph(number)
        return ParagraphVersion(
            number=number,
            language=language,
            status=version.status,
            label=texts.label(version.status),
            original_language=self.versions.original,
            original_label=texts.original,
            text=rendered.text,
            sentences=list(rendered.sentences),
            aligned=rendered.aligned,
        )

    # -- answering -------------------------------------------------------------
    def validate(self, question: str) -> str:
        """The question, stripped; QuestionError when it cannot be asked (TooLong: too long)."""
        if not isinstance(question, str):
            raise QuestionError("the question must be text")
        if _CONTROL.search(question):
            raise QuestionError("the question contains control characters; please type plain text")
        if has_surrogate(question):
            # Undecodable bytes (e.g. from a terminal in another encoding) arrive as
            # lone surrogates: no library downstream can handle them.
            raise QuestionError(
                "the question is not valid text: it holds a lone surrogate (check the "
                "terminal's encoding)"
            )
        question = question.strip()
        if not question:
            raise QuestionError("the question is empty; please type a question")
        if not any(char.isalnum() for char in question):
            # Punctuation or emoji alone: nothing to search for, and the nearest
            # sentence would still look like an answer.
            raise QuestionError("the question has no words; please type a question")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionTooLong(
                f"the question is {len(question)} characters long; the limit is {limit}"
            )
        return question

    def query(self, question: str, history: Sequence[Turn] = ()) -> SearchQuery:
        """What retrieval searches for: the question, its language, the conversation's context."""
        keep = self.settings.max_history_turns
        turns = list(history)[-keep:] if keep else []
        earlier = [t.content for t in turns if t.role == "user"][-2:]
        last_answer = next((t.content for t in reversed(turns) if t.role == "assistant"), "")
        known = {p.number for p in self.document.paragraphs}
        return SearchQuery(
            question=question,
            context=" ".join(earlier),
            cited=tuple(n for n in cited_numbers(last_answer) if n in known),
            language=detect_language(question, self.versions.original, self.languages()),
        )

    def _retrieve(self, query: SearchQuery) -> Staged:
        mark = time.perf_counter()
        shelves = list(self.shelves.values())
        if len(shelves) == 1:
            shelf, ranking = self._first, self._retriever.rank(query)
        else:
            shelf, ranking = route(shelves, query)
        staged = Staged(query, ranking=ranking, shelf=shelf)
        staged.timings["retrieve"] = (time.perf_counter() - mark) * 1000
        return staged

    def _answer(self, staged: Staged) -> Staged:
        mark = time.perf_counter()
        staged.composed = _shelf(staged).answerer.answer(
            staged.query.question, staged.query.language, _ranked(staged)
        )
        staged.timings["compose"] = (time.perf_counter() - mark) * 1000
        return staged

    def _begin(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]],
        request_id: str = "",
        documents: Sequence[str] | None = None,
    ) -> _Asked:
        """The validated question and its history turns; QuestionError when invalid."""
        started = time.perf_counter()
        question = self.validate(question)
        scope = tuple(dict.fromkeys(documents or ()))
        shelves = self.shelves
        unknown = [d for d in scope if d not in shelves]
        if unknown:
            known = ", ".join(shelves)
            raise QuestionError(f"there is no document '{unknown[0][:64]}'; the documents: {known}")
        turns = [t if isinstance(t, Turn) else Turn.model_validate(t) for t in history]
        return _Asked(question, turns, started, request_id=request_id, documents=scope)

    def _query(self, asked: _Asked) -> SearchQuery:
        """The search query; a follow-up the answerer rewrote to stand alone carries its context."""
        query = replace(self.query(asked.question, asked.turns), documents=asked.documents)
        keep = self.settings.max_history_turns
        if asked.turns and keep:
            asked.rewritten = self._answerer.rewrite(asked.question, asked.turns[-keep:])
            if asked.rewritten:
                query = replace(query, question=asked.rewritten, context="")
        return query

    def _result(self, asked: _Asked, staged: Staged) -> AnswerResult:
        staged.timings["total"] = (time.perf_counter() - asked.started) * 1000
        query, ranking, composed = staged.query, _ranked(staged), staged.composed
        if composed is None:
            raise RuntimeError("the chain did not run both stages")
        shelf = _shelf(staged)
        return AnswerResult(
            question=asked.question,
            answer=composed.answer,
            abstained=composed.abstained,
            citations=[c.model_copy(update={"document": shelf.id}) for c in composed.citations],
            document=shelf.id,  # the abstention's suggestions are its paragraphs too
            document_title=shelf.info.title,
            ranked=ranking.paragraphs,
            suggestions=composed.suggestions,
            language=query.language,
            abstain_reason=composed.reason,
            search_query=" ".join(filter(None, [query.context, query.question])),
            timings_ms={k: round(v, 2) for k, v in staged.timings.items()},
            rewritten_query=asked.rewritten,
            generated=composed.generated,
            notice=composed.notice,
            fallback=composed.fallback,
            removed=list(composed.removed),
            support=list(composed.support),
            quote_language=None if composed.abstained else composed.quote_language,
        )

    def ask(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] = (),
        *,
        request_id: str = "",
        keep: bool = True,
        documents: Sequence[str] | None = None,
    ) -> AnswerResult:
        """Answer ``question`` given earlier ``history`` turns (oldest first).

        Args:
            request_id: the HTTP request's id, for the audit trail.
            keep: keep the answer (for its link, export and feedback); a warm-up does not.
            documents: the ids of the documents to answer from (default: all).
        """
        asked = self._begin(question, history, request_id, documents)
        query = self._query(asked)
        asked_at = time.perf_counter()
        staged: Staged = self.chain.invoke(query)
        staged.timings["prepare"] = (asked_at - asked.started) * 1000
        result = self._result(asked, staged)
        if keep:
            self._keep(asked, result)
        return result

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] = (),
        *,
        request_id: str = "",
        documents: Sequence[str] | None = None,
    ) -> Generator[str | AnswerResult, None, None]:
        """Like ``ask``, as the answer's text pieces (joined: the answer), then the result.

        With an LLM the pieces are verified sentences as the model writes them; the offline
        answer comes as one piece. The question is validated at once (QuestionError); the
        work happens as the iterator is read. Closing it early closes the model's stream.
        """
        return self._stream(self._begin(question, history, request_id, documents))

    def _stream(self, asked: _Asked) -> Generator[str | AnswerResult, None, None]:
        query = self._query(asked)
        prepared_at = time.perf_counter()
        staged: Staged = self._retrieve_stage.invoke(query)
        staged.timings["prepare"] = (prepared_at - asked.started) * 1000
        mark = time.perf_counter()
        stream = _shelf(staged).answerer.stream(query.question, query.language, _ranked(staged))
        try:
            yield from stream
            staged.composed = stream.result
        finally:
            stream.close()  # a reader that stopped early: the model's stream is closed too
        staged.timings["compose"] = (time.perf_counter() - mark) * 1000
        result = self._result(asked, staged)
        self._keep(asked, result)
        yield result


def _shelf(staged: Staged) -> Shelf:
    if staged.shelf is None:
        raise RuntimeError("answering runs after retrieval")
    return staged.shelf


def _ranked(staged: Staged) -> Ranking:
    if staged.ranking is None:
        raise RuntimeError("answering runs after retrieval")
    return staged.ranking
