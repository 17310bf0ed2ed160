"""``assistant serve``: uvicorn runs the app until interrupted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from assistant import Settings, offline_environment
from ui.web.app import create_app
from ui.web.logs import configure_logging

__all__ = ["protocol", "serve"]


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


class _TimedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head.

    uvicorn bounds the head's size (``h11_max_incomplete_event_size``) but not the time it
    may take: a client trickling a header a byte every few seconds holds a connection open
    for as long as it likes. Here it is closed when the head is not in by the deadline
    (the body's own deadline is ``BodyLimit``'s).
    """

    head_timeout = 20.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._awaited: object = None  # the cycle that was current when the deadline was set

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request on this connection has its own deadline

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_deadline is not None and self.cycle is not self._awaited:
            self._head_deadline.cancel()  # a new request's head is in
            self._head_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._awaited = self.cycle
        self._head_deadline = self.loop.call_later(self.head_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol(head_timeout: float) -> type[H11Protocol]:
    """The h11 protocol class with this deadline for a request's head."""
    return type("TimedH11", (_TimedH11,), {"head_timeout": head_timeout})


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
        # h11 rather than httptools: it bounds the request head's size, and _TimedH11 its time.
        http=protocol(web.request_timeout_seconds),
        h11_max_incomplete_event_size=web.max_header_bytes,
    )
    _Server(config, before_shutdown=app.state.end_streams).run()
