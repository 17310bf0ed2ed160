"""``assistant serve``: uvicorn runs the app until interrupted."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from assistant import Settings, offline_environment
from ui.web.app import create_app
from ui.web.logs import configure_logging

__all__ = ["serve"]


class _Server(uvicorn.Server):
    """uvicorn, ending the page's open streams as soon as it is asked to stop.

    Otherwise each open tab holds the graceful shutdown to its timeout and is then
    cancelled, with a traceback in the log.
    """

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._before_shutdown()
        await super().shutdown(sockets=sockets)


def serve(settings: Settings) -> None:
    """Run the app with uvicorn until interrupted, on ``settings.web``'s address."""
    offline_environment()
    web = settings.web
    configure_logging(json_lines=web.log_json, level=web.log_level)
    app = create_app(settings)
    shown = "localhost" if web.host in ("127.0.0.1", "0.0.0.0") else web.host
    print(f"Serving the assistant on http://{shown}:{web.port}{web.root_path}/", flush=True)
    config = uvicorn.Config(
        app,
        host=web.host,
        port=web.port,
        root_path=web.root_path,
        # X-Forwarded-For/-Proto are believed only behind a proxy the settings say is there.
        proxy_headers=web.trust_proxy,
        forwarded_allow_ips="*" if web.trust_proxy else None,
        log_config=None,  # configure_logging's format; uvicorn's access log (with query
        access_log=False,  # strings, hence ?token=) stays off: RequestLog writes its own
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    _Server(config, before_shutdown=app.state.end_streams).run()
