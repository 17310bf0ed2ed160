"""The assistant: cited answers over policy documents, or an honest abstention.

The public surface for the layers above (the web app, the page, scripts): settings,
the composition root, the service and the types it returns. The concerns live in
sub-packages: ``assistant.settings``, ``assistant.llm``, ``assistant.evaluation``.
"""

from assistant.answers import AnswerStore, Feedback, StoredAnswer, StoreError
from assistant.compose import Assistant, build_assistant, build_embedder
from assistant.export import answer_json, answer_markdown, conversation_markdown
from assistant.result import (
    AnswerResult,
    Citation,
    ClaimSupport,
    DocumentInfo,
    ParagraphVersion,
    QuotedVersion,
    RankedParagraph,
    Removal,
    Turn,
)
from assistant.service import AssistantService, QuestionError, QuestionTooLong
from assistant.settings import (
    LLMSettings,
    Settings,
    WebSettings,
    load_settings,
    offline_environment,
)
from index.clients import IndexError_
from index.document import Paragraph, Sentence

__all__ = [
    "AnswerResult",
    "AnswerStore",
    "Assistant",
    "AssistantService",
    "Citation",
    "ClaimSupport",
    "DocumentInfo",
    "Feedback",
    "IndexError_",
    "LLMSettings",
    "Paragraph",
    "ParagraphVersion",
    "QuestionError",
    "QuestionTooLong",
    "QuotedVersion",
    "RankedParagraph",
    "Removal",
    "Sentence",
    "Settings",
    "StoreError",
    "StoredAnswer",
    "Turn",
    "WebSettings",
    "answer_json",
    "answer_markdown",
    "build_assistant",
    "build_embedder",
    "conversation_markdown",
    "load_settings",
    "offline_environment",
]
