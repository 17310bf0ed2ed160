"""The web app: HTTP API, server-sent events, middleware and guards, logs, the uvicorn server."""

from ui.web.app import create_app
from ui.web.guards import AccessControl, BodyLimit, RateLimit, TokenBuckets
from ui.web.holder import ServiceHolder, SharedService
from ui.web.logs import configure_logging
from ui.web.middleware import LocalFilesOnly, RelativePageLinks, RequestLog, SecurityHeaders
from ui.web.routes import AskRequest, router
from ui.web.server import serve

__all__ = [
    "AccessControl",
    "AskRequest",
    "BodyLimit",
    "LocalFilesOnly",
    "RateLimit",
    "RelativePageLinks",
    "RequestLog",
    "SecurityHeaders",
    "ServiceHolder",
    "SharedService",
    "TokenBuckets",
    "configure_logging",
    "create_app",
    "router",
    "serve",
]
