"""Hybrid retrieval: dense (a paragraph's best entry) fused with Dutch BM25.

A paragraph's dense score is the best similarity among its entries: its sentences, itself,
and the questions it answers (index-time enrichment); only its sentences' similarities
are kept for quoting and abstention.

Plain reciprocal rank fusion hurt non-Dutch questions: BM25 shares no word with
them and its all-zero scores tie. So BM25 only ranks paragraphs it actually
scored, and its weight is scaled by the share of query terms it knows; for a Dutch
question whose terms all occur in BM25's best paragraph (the question uses the
text's own words) its weight rises with that coverage. LangChain's
``EnsembleRetriever`` has fixed weights and ranks zero scores, hence this fusion.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.result import RankedParagraph
from assistant.text import Analyzer
from index.document import Document
from index.entries import INSTRUCTION, OFFTOPIC, QUESTION, UNANSWERED, VERSION
from index.store import ParagraphIndex
from index.vectors import max_by
from index.versions import DocumentVersion, Versions

__all__ = ["Bm25Ranker", "HybridRetriever", "Ranking", "SearchQuery", "prune_lexical"]

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "bm25"]
RANKED = 100  # paragraphs a ranking lists (all of a shorter document)
LEXICAL_K = 1_000  # paragraphs a lexical ranking lists at most
DENSE_K = 1_000  # entries nearest to the question a dense ranking reads


@dataclass(frozen=True)
class SearchQuery:
    """What to search for: the question, plus context from earlier turns."""

    question: str
    context: str = ""  # earlier user questions, for follow-ups
    cited: tuple[int, ...] = ()  # paragraphs cited by the last answer
    language: str = "nl"  # of the question; BM25 can only match Dutch words
    documents: tuple[str, ...] = ()  # the documents to answer from (ids); empty: all


@dataclass
class Ranking:
    """Retrieval output: ranked paragraphs and the per-sentence evidence."""

    paragraphs: list[RankedParagraph]
    # (paragraph, sentence) -> cosine similarity with the question alone
    sentence_similarity: dict[tuple[int, int], float] = field(default_factory=dict)
    bm25_coverage: float = 0.0
    context_similarity: float = 0.0  # best similarity of question + context
    instruction_similarity: float = 0.0  # best similarity to an instruction exemplar
    offtopic_similarity: float = 0.0  # best similarity to an everyday-question exemplar
    unanswered_similarity: float = 0.0  # best similarity to an unanswered exemplar
    # The language version searched beside the original (the question's language), and
    # (paragraph, sentence of the version's paragraph) -> similarity with the question.
    version_language: str | None = None
    version_similarity: dict[tuple[int, int], float] = field(default_factory=dict)

    @property
    def order(self) -> list[int]:
        return [p.paragraph for p in self.paragraphs]

    def text_similarity(self, paragraph: int) -> float:
        """Best similarity of one of ``paragraph``'s own sentences (0 when none was found)."""
        return max(
            (sim for (number, _), sim in self.sentence_similarity.items() if number == paragraph),
            default=0.0,
        )

    @property
    def best_similarity(self) -> float:
        """Best similarity of any entry (a sentence, a paragraph, a question it answers),
        with the conversation's context where given."""
        own = max(self.sentence_similarity.values(), default=0.0)
        entries = max((p.dense for p in self.paragraphs), default=0.0)
        return max(own, entries, self.context_similarity)


@dataclass
class _Dense:
    """One dense search: each paragraph's best entry, the sentences, the nearest exemplars."""

    best: dict[int, float] = field(default_factory=dict)  # any entry
    text: dict[int, float] = field(default_factory=dict)  # its sentences and itself
    questions: dict[int, float] = field(default_factory=dict)  # the questions it answers
    sentences: dict[tuple[int, int], float] = field(default_factory=dict)
    instruction: float = 0.0
    offtopic: float = 0.0
    unanswered: float = 0.0
    version: dict[int, float] = field(default_factory=dict)  # best entry of the version
    version_sentences: dict[tuple[int, int], float] = field(default_factory=dict)


def _by_pair(paragraphs: Any, sentences: Any, similarities: Any) -> dict[tuple[int, int], float]:
    """{(paragraph, sentence): similarity} from three arrays of the same rows."""
    keys = zip(paragraphs.tolist(), sentences.tolist(), strict=True)
    return dict(zip(keys, similarities.tolist(), strict=True))


class Bm25Ranker:
    """BM25 over the paragraphs with a Snowball analyser (bm25s, Lucene's formula): of the
    document, in its language, or of a language version, in that version's.

    bm25s keeps the scores as a sparse matrix: a question costs a sum of a few rows, not a
    loop over every paragraph. With a ``store`` directory the analysed index is kept
    there, under a key of the text, the language and the analyser, and read back (mapped,
    not loaded) by the next process instead of analysing every paragraph again.
    """

    def __init__(
        self,
        document: Document | DocumentVersion,
        language: str = "nl",
        store: Path | None = None,
    ) -> None:
        self._analyze = Analyzer(language)
        self._numbers = np.asarray([p.number for p in document.paragraphs])
        source = getattr(document, "fingerprint", None) or getattr(document, "sha256", "")
        key = hashlib.sha256(f"{_LEXICAL_SCHEMA}|{language}|{source}".encode()).hexdigest()
        directory = store / f"bm25-{key[:20]}" if store is not None and source else None
        self.directory = directory  # where it is kept, if anywhere
        kept = _load_bm25(directory) if directory is not None else None
        if kept is None or kept.scores["num_docs"] != len(self._numbers):
            kept = _build_bm25([self._analyze(p.text) for p in document.paragraphs])
            if directory is not None:
                _save_bm25(kept, directory)
        self._bm25: Any = kept
        self.vocabulary = frozenset(t for t in self._bm25.vocab_dict if t)

    def score(self, text: str) -> tuple[dict[int, float], float, float]:
        """BM25 score per paragraph (the ``LEXICAL_K`` best of those it scored), the share
        of query terms in the vocabulary, and the share of query terms the best-scoring
        paragraph contains."""
        terms = self._analyze(text)
        matched = [t for t in terms if t in self.vocabulary]
        if not matched:  # bm25s refuses an empty query; nothing would score anyway
            return {}, 0.0, 0.0
        known = len(matched) / len(terms)
        ids = self._bm25.get_tokens_ids(matched)
        raw = np.maximum(self._bm25.get_scores_from_ids(ids), 0.0)
        best = int(np.argmax(raw))  # the first of equals, in document order
        columns = self._bm25.scores
        indptr, indices = columns["indptr"], columns["indices"]
        covered = sum(best in indices[indptr[t] : indptr[t + 1]] for t in ids) / len(terms)
        scored = np.flatnonzero(raw)
        if len(scored) > LEXICAL_K:  # fusion reads a ranking's head, not its tail
            scored = scored[np.argpartition(-raw[scored], LEXICAL_K)[:LEXICAL_K]]
        scores = dict(zip(self._numbers[scored].tolist(), raw[scored].tolist(), strict=True))
        return scores, known, covered


_LEXICAL_SCHEMA = "bm25s-lucene-1"  # changes whenever a kept lexical index would differ


def _build_bm25(corpus: list[list[str]]) -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # no "Building index" per build
    bm25 = bm25s.BM25(method="lucene")
    bm25.index(corpus, show_progress=False)
    return bm25


def _load_bm25(directory: Path) -> Any | None:
    """A kept lexical index, or None when there is none (or it cannot be read)."""
    if not (directory / "params.index.json").is_file():
        return None
    import bm25s

    try:
        return bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
    except Exception as error:  # a damaged copy is built again
        log.warning("the lexical index in %s cannot be read (%s); building it", directory, error)
        return None


def prune_lexical(store: Path, used: set[Path]) -> list[Path]:
    """Delete the kept lexical indexes in ``store`` other than ``used`` (those of texts
    that changed or documents that left); the ones deleted.

    A process that still maps a deleted one keeps reading it (the file lives on until it
    is unmapped); one that starts on such a text builds it again.
    """
    pruned = []
    for directory in store.glob("bm25-*"):
        if directory.is_dir() and directory.suffix != ".tmp" and directory not in used:
            shutil.rmtree(directory, ignore_errors=True)
            pruned.append(directory)
    if pruned:
        log.info("deleted %d lexical index(es) no document uses", len(pruned))
    return pruned


def _save_bm25(bm25: Any, directory: Path) -> None:
    """Keep ``bm25`` in ``directory``, whole or not at all; a failure costs only speed."""
    staging = directory.with_name(f"{directory.name}.{os.getpid()}.tmp")
    try:
        bm25.save(str(staging), show_progress=False)
        staging.rename(directory)
    except OSError as error:  # another process was first, or the disk is full
        if not directory.is_dir():
            log.warning("could not keep the lexical index in %s: %s", directory, error)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class HybridRetriever:
    """Ranks a document's paragraphs for a question (and its conversation)."""

    def __init__(
        self,
        document: Document,
        index: ParagraphIndex,
        *,
        mode: Mode = "hybrid",
        bm25_weight: float = 0.25,
        rrf_k: int = 60,
        history_weight: float = 0.6,
        exact_weight: float = 2.0,
        exact_power: float = 4.0,
        question_weight: float | None = None,
        question_offset: float = 0.0,
        version_weight: float = 1.0,
        versions: Versions | None = None,
        version_bm25: bool = True,
        lexical_store: Path | None = None,
    ) -> None:
        """Args:
        lexical_store: a directory the lexical indexes are kept in (see ``Bm25Ranker``).
        """
        self._document = document
        # Listed once: at 100,000 paragraphs listing them cost 38 ms a question.
        self._numbers = tuple(p.number for p in document.paragraphs)
        self._index = index
        self._bm25 = Bm25Ranker(document, store=lexical_store)
        self._mode = mode
        self._bm25_weight = bm25_weight
        self._rrf_k = rrf_k
        self._history_weight = history_weight
        self._exact_weight = exact_weight
        self._exact_power = exact_power
        self._question_weight = question_weight
        self._question_offset = question_offset
        self._version_weight = version_weight
        self._versions = frozenset(versions.languages) if versions else frozenset()
        # BM25 over each version in its own language: the lexical evidence a question in
        # that language has (the Dutch BM25 shares few words with it).
        self._version_bm25 = (
            {v.language: Bm25Ranker(v, v.language, lexical_store) for v in versions or ()}
            if version_bm25
            else {}
        )

    @property
    def document(self) -> Document:
        return self._document

    @property
    def lexical_directories(self) -> set[Path]:
        """Where its lexical indexes (the document's, each version's) are kept."""
        rankers = [self._bm25, *self._version_bm25.values()]
        return {r.directory for r in rankers if r.directory is not None}

    def _dense(self, text: str, language: str | None = None) -> _Dense:
        vector = self._index.embedder.embed_query(text)
        # Only the nearest entries are read on: a ranking lists at most RANKED paragraphs,
        # and a large document's tail would cost a Python loop per question.
        scored = self._index.scored(vector).nearest(DENSE_K)
        paragraphs, sentences, similarities = (
            scored.paragraphs, scored.sentences, scored.similarities
        )  # fmt: skip
        # Only the version in the question's own language: the original stays the
        # reference for every other signal (abstention is calibrated on it).
        version = (sentences == VERSION) & (scored.languages == language)
        aligned = version & (scored.version_sentences >= 0)
        # Question-to-question similarity runs higher than question-to-text (the same
        # form, the same question words): a question entry counts with an offset.
        original = (sentences != VERSION) & (paragraphs >= 0)
        question = original & (sentences == QUESTION)
        text_entry = original & ~question
        adjusted = similarities - self._question_offset * question
        own = sentences >= 0
        return _Dense(
            best=max_by(paragraphs[original], adjusted[original]),
            text=max_by(paragraphs[text_entry], adjusted[text_entry]),
            questions=max_by(paragraphs[question], adjusted[question]),
            sentences=_by_pair(paragraphs[own], sentences[own], similarities[own]),
            instruction=max(0.0, scored.exemplars.get(INSTRUCTION, 0.0)),
            offtopic=max(0.0, scored.exemplars.get(OFFTOPIC, 0.0)),
            unanswered=max(0.0, scored.exemplars.get(UNANSWERED, 0.0)),
            version=max_by(paragraphs[version], similarities[version]),
            version_sentences=_by_pair(
                paragraphs[aligned], scored.version_sentences[aligned], similarities[aligned]
            ),
        )

    def rank(self, query: SearchQuery) -> Ranking:
        fused: dict[int, float] = defaultdict(float)
        dense: dict[int, float] = {}
        sentences: dict[tuple[int, int], float] = {}
        k = self._rrf_k
        context_best = 0.0

        def add(scores: dict[int, float], weight: float) -> None:
            ordered = sorted((n for n, s in scores.items() if s > 0), key=lambda n: -scores[n])
            for rank, number in enumerate(ordered, 1):
                fused[number] += weight / (k + rank)

        # Sentence similarities are needed to compose answers and to abstain,
        # whatever the mode; the mode decides only what is fused into the ranking.
        version = query.language if query.language in self._versions else None
        own = self._dense(query.question, version)
        dense, sentences = own.best, own.sentences
        if self._mode in ("hybrid", "dense"):
            if self._question_weight is None:  # a paragraph's best entry, whatever its kind
                add(dense, 1.0)
            else:  # its text and the questions it answers, as two rankings
                add(own.text, 1.0)
                add(own.questions, self._question_weight)
            if version:  # the version in the question's language, as a ranking of its own
                add(own.version, self._version_weight)
            if query.context:
                context_dense = self._dense(f"{query.context} {query.question}").best
                context_best = max(context_dense.values(), default=0.0)
                add(context_dense, self._history_weight)
        bm25, coverage, covered = self._bm25.score(query.question)
        if self._mode == "bm25":
            add(bm25, 1.0)
            if query.context:
                add(self._bm25.score(f"{query.context} {query.question}")[0], self._history_weight)
        elif self._mode == "hybrid":
            weight = self._bm25_weight * coverage
            if query.language == "nl":
                # A Dutch question whose words all stand in one paragraph is strong
                # lexical evidence; a paraphrase covers few and keeps the low weight.
                weight = max(weight, self._exact_weight * covered**self._exact_power)
            add(bm25, weight)
            if version in self._version_bm25:
                own_bm25, own_known, own_covered = self._version_bm25[version].score(query.question)
                add(
                    own_bm25,
                    max(
                        self._bm25_weight * own_known,
                        self._exact_weight * own_covered**self._exact_power,
                    ),
                )
        if query.cited:
            add({n: 1.0 / (i + 1) for i, n in enumerate(query.cited)}, self._history_weight / 2)
        numbers: Any = self._numbers
        if len(numbers) > RANKED:  # a long document: the paragraphs some signal found
            numbers = fused.keys() | dense.keys()
        # Dense similarity breaks the remaining ties (e.g. BM25 with no match). Only the
        # first RANKED are kept: nothing reads further down a long document's ranking.
        ordered = heapq.nsmallest(RANKED, numbers, key=lambda n: (-fused[n], -dense.get(n, 0.0), n))
        return Ranking(
            paragraphs=[
                RankedParagraph(
                    paragraph=n,
                    score=round(fused[n], 6),
                    dense=round(dense.get(n, 0.0), 6),
                    bm25=round(bm25.get(n, 0.0), 6),
                )
                for n in ordered
            ],
            sentence_similarity=sentences,
            bm25_coverage=coverage,
            context_similarity=context_best,
            instruction_similarity=own.instruction,
            offtopic_similarity=own.offtopic,
            unanswered_similarity=own.unanswered,
            version_language=version,
            version_similarity=own.version_sentences,
        )
