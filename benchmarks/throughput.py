"""Throughput: N clients asking gold questions for a bounded time.

Usage: python benchmarks/throughput.py [--http | --gradio] [--seconds 15] [--clients 1 4 16]
--http starts `assistant serve` (rate limit off) and its clients POST /api/ask over
loopback, each with its own connection; --gradio starts it too and each client is a chat
session on the page's Gradio queue (gradio_client: clear, then ask; follow-up questions are
asked without their history); without either, threads call one in-process service.
Writes benchmarks/results/throughput.json (throughput-http.json, throughput-gradio.json).
The clients run on the same machine as the server and share its cores.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

from _common import REPO, gold_questions, offline, peak_rss_mib, percentile, table, write_result


def run(
    ask: Callable[[str, list[Any]], object],
    questions: list[tuple[str, list[Any]]],
    clients: int,
    seconds: float,
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
                ask(question, history)
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


@contextmanager
def _server(data_dir: Path) -> Iterator[tuple[str, int]]:
    """`assistant serve` on a free loopback port: (base URL, pid)."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_DATA_DIR=str(data_dir), ASSISTANT_WEB_RATE_LIMIT_PER_MINUTE="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("the server did not become ready")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _peak_rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _http_asker(url: str) -> Callable[[str, list[Any]], None]:
    import httpx

    local = threading.local()

    def ask(question: str, history: list[Any]) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=120)
        turns = [t.model_dump() if hasattr(t, "model_dump") else t for t in history]
        response = local.client.post("/api/ask", json={"question": question, "history": turns})
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:100]}")

    return ask


def _gradio_asker(url: str) -> tuple[Callable[[str, list[Any]], None], Callable[[], None]]:
    """Each thread a chat session of its own; the second callable closes them all."""
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # or gradio_client looks the URL up on the Hub
    from gradio_client import Client

    local = threading.local()
    clients: list[Any] = []

    def ask(question: str, history: list[Any]) -> None:
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
            clients.append(local.client)
        local.client.predict(api_name="/clear")
        _, _, details, _ = local.client.predict(question, [], api_name="/ask")
        if not details or "citations" not in details:
            raise RuntimeError(f"no result for {question!r}")

    def close() -> None:
        for client in clients:
            client.close()

    return ask, close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    via = parser.add_mutually_exclusive_group()
    via.add_argument("--http", action="store_true", help="the API of `assistant serve`")
    via.add_argument("--gradio", action="store_true", help="its page's Gradio queue")
    args = parser.parse_args()
    offline()
    questions = gold_questions()
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        if args.http:
            with _server(Path(tmp)) as (url, pid):
                ask = _http_asker(url)
                ask(questions[0][0], [])  # warm-up
                runs = [run(ask, questions, n, args.seconds) for n in args.clients]
                rss = _peak_rss_of(pid)
            name, mode = "throughput-http", "HTTP clients against assistant serve"
        elif args.gradio:
            with _server(Path(tmp)) as (url, pid):
                ask, close = _gradio_asker(url)
                try:
                    ask(questions[0][0], [])  # warm-up
                    runs = [run(ask, questions, n, args.seconds) for n in args.clients]
                finally:
                    close()
                rss = _peak_rss_of(pid)
            name, mode = "throughput-gradio", "chat sessions on the Gradio queue"
        else:
            from assistant import build_assistant
            from assistant.settings import Settings

            service = build_assistant(Settings(data_dir=Path(tmp))).service
            service.ask(questions[0][0])  # warm-up
            runs = [run(service.ask, questions, n, args.seconds) for n in args.clients]
            rss = peak_rss_mib()
            name, mode = "throughput", "in-process threads"
    path = write_result(name, {"mode": mode, "runs": runs, "peak_rss_mib": rss})
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
    print(f"\n{mode}; peak RSS of the serving process {rss} MiB; written: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
