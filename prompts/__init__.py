"""Every text the assistant shows or sends, as data, and the validated loaders that read it."""

from prompts.llm import (
    AnswerPrompt,
    EnrichPrompt,
    LanguageTexts,
    Rendered,
    RewritePrompt,
    TranslatePrompt,
    load_answer_prompt,
    load_enrich_prompt,
    load_rewrite_prompt,
    load_translate_prompt,
    neutralise,
)
from prompts.messages import MessageBook, Messages, load_messages
from prompts.templates import prompts_dir

__all__ = [
    "AnswerPrompt",
    "EnrichPrompt",
    "LanguageTexts",
    "MessageBook",
    "Messages",
    "Rendered",
    "RewritePrompt",
    "TranslatePrompt",
    "load_answer_prompt",
    "load_enrich_prompt",
    "load_messages",
    "load_rewrite_prompt",
    "load_translate_prompt",
    "neutralise",
    "prompts_dir",
]
