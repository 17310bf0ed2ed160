"""Chroma clients for the index: a local store on disk or a Chroma server.

A local store is opened under the data directory's build lock, and one that cannot
be opened because it is damaged is moved aside (never deleted); one that cannot be
opened because the disk is full or read-only is reported and left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "IndexError_",
    "build_lock",
    "check_free_space",
    "disk_bytes",
    "close_client",
    "make_client",
    "make_http_client",
    "open_client",
]

log = logging.getLogger(__name__)

_SLACK = 256 * 1024  # SQLite journal and HNSW headers on top of the data itself


class IndexError_(RuntimeError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The index cannot be opened or built; the message says why and what to do."""


def make_client(data_dir: Path) -> Any:
    """A persistent Chroma client with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(
            path=str(data_dir / "chroma"),
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as error:  # chroma raises many types for a damaged store
        # Chroma caches a system per path, also a broken one: forget it.
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        raise IndexError_(
            f"the index at {data_dir / 'chroma'} cannot be opened ({error})"
        ) from error


def make_http_client(host: str, port: int, *, ssl: bool = False, token: str | None = None) -> Any:
    """A client of a Chroma server (``chroma run``), telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        client = chromadb.HttpClient(
            host=host,
            port=port,
            ssl=ssl,
            headers=headers,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as error:  # connection refused, auth, version mismatch
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        raise IndexError_(
            f"the Chroma server at {host}:{port} cannot be reached ({error})"
        ) from error
    return client


def close_client(client: Any) -> None:
    """Close a Chroma client, including an HTTP client's connection pool.

    chromadb's ``close()`` releases the shared system but leaves the HTTP client's
    httpx pool open, so its sockets linger until garbage collection.
    """
    with contextlib.suppress(Exception):
        client.close()
    for owner in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(owner, "_server", None), "_session", None)
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()


def open_client(data_dir: Path) -> Any:
    """A persistent client; a store that cannot be opened is moved aside, not deleted.

    The caller then finds no index and builds a fresh one. The damaged files stay
    in ``chroma.damaged-<time>`` for inspection.

    Opening runs under the data directory's build lock: Chroma creates its SQLite
    schema on first open, and two processes doing that at once make one of them
    fail with "table ... already exists", which must not pass for damage.
    """
    with build_lock(data_dir):
        return _open_or_set_aside(data_dir)


# SQLite's words for a store that is fine but cannot be written here and now:
# full disk, read-only or unreadable files, I/O errors, another writer's lock.
_NOT_DAMAGE = (
    "disk is full",
    "no space left",
    "readonly",
    "read-only",
    "permission denied",
    "unable to open",
    "disk i/o error",
    "database is locked",
)


def _is_damage(error: BaseException) -> bool:
    text = str(error).lower()
    return not any(words in text for words in _NOT_DAMAGE)


def _open_or_set_aside(data_dir: Path) -> Any:
    try:
        return make_client(data_dir)
    except IndexError_ as error:
        if not _is_damage(error):
            raise IndexError_(
                f"{error}; the index was left as it is: check the free space and "
                f"permissions of {data_dir}, then try again"
            ) from error
        aside = data_dir / f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        (data_dir / "chroma").rename(aside)
        log.warning("%s; moved it to %s and building a new index", error, aside)
        try:
            return make_client(data_dir)
        except IndexError_ as again:
            raise IndexError_(
                f"{again}; check the permissions and free space of {data_dir}"
            ) from again


@contextmanager
def build_lock(data_dir: Path | None, name: str = "build.lock") -> Iterator[None]:
    """One build (or one holder of lock ``name``) at a time per directory; a second waits."""
    if data_dir is None:
        yield
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / name).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def disk_bytes(path: Path) -> int:
    """The bytes the files under ``path`` take."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def check_free_space(store: Path, kept: Callable[[], str]) -> None:
    """Refuse a rebuild of the local ``store`` that would fill the disk, before writing.

    A new index takes about as much room as the store already holds, and SQLite cannot
    even drop a half-built collection on a full disk. Only a local store is checked (a
    Chroma server's disk is its own); ``kept`` says what is left meanwhile.
    """
    if not store.is_dir():
        return
    needed = disk_bytes(store) + _SLACK
    free = shutil.disk_usage(store).free
    if free < needed:
        raise IndexError_(
            f"not enough free space to build the index in {store}: it needs about "
            f"{needed / 2**20:.1f} MiB and {free / 2**20:.1f} MiB are free; {kept()}"
        )
