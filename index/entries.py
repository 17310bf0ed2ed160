"""What an index holds: one entry per sentence and paragraph of the document and of each
language version, each enrichment question, each exemplar; with the metadata that says
which paragraph (and sentence) an entry stands for."""

from __future__ import annotations

from typing import Any

from index.document import Document
from index.enrichment import Enrichment
from index.versions import Versions

__all__ = [
    "INSTRUCTION",
    "OFFTOPIC",
    "PARAGRAPH",
    "QUESTION",
    "UNANSWERED",
    "VERSION",
    "index_entries",
]

PARAGRAPH = -1  # the ``sentence`` of a whole-paragraph entry
QUESTION = -2  # the ``sentence`` of an enrichment question
INSTRUCTION = -3  # the ``sentence`` of an instruction exemplar (its paragraph is -1)
OFFTOPIC = -4  # the ``sentence`` of an everyday-question exemplar (its paragraph is -1)
VERSION = -5  # the ``sentence`` of a language version's entry (its own sentence: ``vsentence``)
UNANSWERED = -6  # the ``sentence`` of an in-domain unanswered exemplar (its paragraph is -1)


def index_entries(
    document: Document, enrichment: Enrichment, versions: Versions
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """The ids, texts and metadata of every entry, in the order they are embedded."""
    texts: list[str] = []
    ids: list[str] = []
    metadatas: list[dict[str, Any]] = []
    for paragraph in document.paragraphs:
        ids.append(f"p{paragraph.number}")
        texts.append(paragraph.text)
        metadatas.append({"paragraph": paragraph.number, "sentence": PARAGRAPH})
        for sentence in paragraph.sentences:
            ids.append(f"p{paragraph.number}-s{sentence.index}")
            texts.append(sentence.text)
            metadatas.append({"paragraph": paragraph.number, "sentence": sentence.index})
    for version in versions:
        for rendered in version.paragraphs:
            head = f"v{version.language}-p{rendered.number}"
            entries = [(head, rendered.text, PARAGRAPH)] + [
                (f"{head}-s{s.index}", s.text, s.index) for s in rendered.sentences
            ]
            for entry_id, text, own in entries:
                ids.append(entry_id)
                texts.append(text)
                metadatas.append(
                    {
                        "paragraph": rendered.number,
                        "sentence": VERSION,
                        "lang": version.language,
                        "vsentence": own,
                    }
                )
    for number, question in enumerate(enrichment.questions):
        ids.append(f"q{number}")
        texts.append(question.question)
        metadatas.append({"paragraph": question.paragraph, "sentence": QUESTION})
    for prefix, kind, exemplars in (
        ("i", INSTRUCTION, enrichment.instructions),
        ("o", OFFTOPIC, enrichment.offtopic),
        ("u", UNANSWERED, enrichment.unanswered),
    ):
        for number, exemplar in enumerate(exemplars):
            ids.append(f"{prefix}{number}")
            texts.append(exemplar.text)
            metadatas.append({"paragraph": -1, "sentence": kind})
    return ids, texts, metadatas
