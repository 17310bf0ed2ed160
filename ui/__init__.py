"""The Gradio chat page; it talks to the assistant service only."""

from ui.page import AssistantPort, ChatPage

__all__ = ["AssistantPort", "ChatPage"]
