"""Everything a browser or an HTTP client touches: the Gradio page here, the web app in ``ui.web``.

It calls the assistant through its public surface (``assistant``) only.
"""

from ui.page import AssistantPort, ChatPage

__all__ = ["AssistantPort", "ChatPage"]
