"""Configuration: one ``Settings`` root with ``llm``, ``web`` and ``embedding`` sections,
and the offline env."""

from assistant.settings.embedding import EmbeddingServerSettings
from assistant.settings.llm import LLMSettings
from assistant.settings.offline import OFFLINE_ENV, offline_environment
from assistant.settings.root import Settings, default_data_dir, load_settings
from assistant.settings.web import WebSettings

__all__ = [
    "OFFLINE_ENV",
    "EmbeddingServerSettings",
    "LLMSettings",
    "Settings",
    "WebSettings",
    "default_data_dir",
    "load_settings",
    "offline_environment",
]
