"""What keeps Hugging Face, Chroma and Gradio off the network; set by entry points only."""

from __future__ import annotations

import os

__all__ = ["OFFLINE_ENV", "offline_environment"]

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "LANGSMITH_TRACING": "false",
}


def offline_environment() -> None:
    """Keep every library off the network (called by entry points, never on import)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
