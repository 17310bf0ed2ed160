"""What every prompt file shares: where it lives, how it is read, how its variables are checked."""

from __future__ import annotations

import string
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

__all__ = ["exactly", "load_toml", "no_variables", "prompts_dir", "variables"]

_Model = TypeVar("_Model", bound=BaseModel)


def prompts_dir() -> Path:
    """The project's ``prompts/`` folder (shipped as package data)."""
    return Path(__file__).resolve().parent


def variables(template: str) -> set[str]:
    """The ``{names}`` a format template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def exactly(value: str, expected: set[str], field: str) -> str:
    """``value`` when it uses exactly the ``expected`` variables; ValueError naming the rest."""
    found = variables(value)
    if found != expected:
        missing, unknown = sorted(expected - found), sorted(found - expected)
        raise ValueError(f"{field}: missing variables {missing}, unknown variables {unknown}")
    return value


def no_variables(value: str) -> str:
    """``value`` when it is plain text: a non-empty string without ``{variables}``."""
    if not value.strip():
        raise ValueError("must not be empty")
    if variables(value):
        raise ValueError(f"takes no variables, found {sorted(variables(value))}")
    return value


def load_toml(path: Path, model: type[_Model]) -> _Model:
    """Read ``path`` into ``model``; ValueError naming the file on any problem."""
    try:
        return model.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: {error}") from error
