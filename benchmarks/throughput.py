"""Throughput: N in-process client threads asking gold questions for a bounded time.

Usage: python benchmarks/throughput.py [--seconds 15] [--clients 1 4 16]
(In-process threads until the HTTP API exists.) Writes benchmarks/results/throughput.json.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from itertools import count
from pathlib import Path
from typing import Any

from _common import REPO, gold_questions, offline, peak_rss_mib, percentile, table, write_result


def run(
    service: Any, questions: list[tuple[str, list[Any]]], clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ticket = count()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < deadline:
            question, history = questions[next(ticket) % len(questions)]
            started = time.perf_counter()
            try:
                service.ask(question, history)
            except Exception as error:  # counted, not fatal: that is the measurement
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "answered": len(latencies),
        "questions_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    offline()
    from assistant.service import build_assistant
    from assistant.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        service, _ = build_assistant(Settings(data_dir=Path(tmp)))
        questions = gold_questions()
        service.ask(questions[0][0])  # warm-up
        runs = [run(service, questions, n, args.seconds) for n in args.clients]
    rss = peak_rss_mib()
    path = write_result(
        "throughput", {"mode": "in-process threads", "runs": runs, "peak_rss_mib": rss}
    )
    print(
        table(
            ["clients", "questions/s", "p50 ms", "p95 ms", "answered", "errors"],
            [
                [
                    r["clients"],
                    r["questions_per_s"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["answered"],
                    r["errors"],
                ]
                for r in runs
            ],
        )
    )
    print(f"\npeak RSS {rss} MiB; written: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
