"""The web app: HTTP API, server-sent events, middleware and guards, logs, the uvicorn server."""

from ui.web.app import create_app
from ui.web.gradio_routes import GradioRoutes
from ui.web.guards import AccessControl, BodyLimit, HeadLimit, RateLimit, TokenBuckets
from ui.web.headers import PageHtml, SecurityHeaders
from ui.web.holder import ServiceHolder, SharedService
from ui.web.logs import configure_logging
from ui.web.middleware import CrossOrigin, LocalFilesOnly, RequestLog
from ui.web.routes import AskRequest, router
from ui.web.server import serve
from ui.web.sessions import Sessions

__all__ = [
    "AccessControl",
    "AskRequest",
    "BodyLimit",
    "CrossOrigin",
    "GradioRoutes",
    "HeadLimit",
    "LocalFilesOnly",
    "PageHtml",
    "RateLimit",
    "RequestLog",
    "SecurityHeaders",
    "ServiceHolder",
    "Sessions",
    "SharedService",
    "TokenBuckets",
    "configure_logging",
    "create_app",
    "router",
    "serve",
]
