"""What the ``assistant`` commands share: their errors, exit statuses, settings and service."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

__all__ = [
    "EXIT_ERROR",
    "EXIT_USAGE",
    "CliError",
    "indexing_progress",
    "service_of",
    "settings_of",
]

EXIT_USAGE = 2
EXIT_ERROR = 1


class CliError(Exception):
    """A user-facing error: printed as one line, exit status attached."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def settings_of(args: argparse.Namespace) -> Any:
    from assistant.settings import load_settings

    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    web = {
        key: value
        for key in ("host", "port", "root_path")
        if (value := getattr(args, key, None)) is not None
    }
    if web:  # merged into ASSISTANT_WEB_*: the command line's address wins
        overrides["web"] = web
    try:
        return load_settings(**overrides)
    except ValidationError as error:
        raise CliError(f"invalid settings: {error}") from error


@contextlib.contextmanager
def indexing_progress(quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A progress callback that draws a bar on stderr once a build starts (none if quiet)."""
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="indexing", unit="entry", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()


def service_of(args: argparse.Namespace, *, rebuild: bool = False, quiet: bool = False) -> Any:
    from assistant.compose import build_assistant
    from index.store import IndexError_

    settings = settings_of(args)
    try:
        with indexing_progress(quiet) as progress:
            built = build_assistant(settings, progress=progress, rebuild=rebuild)
    except (IndexError_, FileNotFoundError, ValueError) as error:
        raise CliError(str(error), EXIT_ERROR) from error
    report = built.report
    if report.built and not quiet:
        print(f"index built ({report.reason}) in {report.seconds:.1f} s", file=sys.stderr)
    return built.service, report
