"""The generative path: the chat client, the LLM answerer, and citation verification."""

from assistant.llm.answerer import GenerativeAnswerer
from assistant.llm.client import ChatClient, Fault, LLMError
from assistant.llm.verification import AnswerChecker, Checked, CitationVerifier, Support

__all__ = [
    "AnswerChecker",
    "ChatClient",
    "Checked",
    "CitationVerifier",
    "Fault",
    "GenerativeAnswerer",
    "LLMError",
    "Support",
]
