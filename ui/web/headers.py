"""Response headers of every route, and the page's own HTML.

The content security policy allows only the app's own origin for scripts, styles, images,
fonts and connections. Gradio's page carries inline scripts (its config, its loader):
each gets a fresh nonce per response instead of allowing inline scripts at large. Styles
keep ``'unsafe-inline'``: Gradio sets element styles from its scripts, which no nonce
can cover, and a style cannot run code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.assets import STATIC_PATH
from ui.web.middleware import route_path

__all__ = ["PageHtml", "SecurityHeaders", "content_security_policy"]

_ROOT_LINK = b'<link rel="manifest" href="/manifest.json" />'
_RELATIVE_LINKS = (
    b'<link rel="manifest" href="./manifest.json" /><link rel="icon" href="./favicon.ico" />'
)
_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])")
# Files that say nothing about the user and may be cached; everything else is no-store.
_ASSET_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/file=", STATIC_PATH + "/")
_ASSETS = frozenset({"/favicon.ico", "/manifest.json", "/theme.css", "/gradio_api/theme.css"})
_PERMISSIONS = ", ".join(
    [
        *(
            f"{feature}=()"
            for feature in (
                "accelerometer", "autoplay", "camera", "clipboard-read", "display-capture",
                "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
                "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
                "xr-spatial-tracking",
            )
        ),
        "clipboard-write=(self)",  # the chat's copy buttons
        "fullscreen=(self)",
    ]
)  # fmt: skip
_HSTS = "max-age=31536000"


def content_security_policy(frame_ancestors: Sequence[str], nonce: str | None = None) -> str:
    """The policy: the app's own origin only, and a nonce for the page's inline scripts."""
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors " + " ".join(["'self'", *frame_ancestors]),
        ]
    )


class SecurityHeaders:
    """Hardens every response: CSP, no sniffing, no referrer, no caching of anything but
    assets, a Permissions-Policy, and HSTS when the request came over https."""

    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str]) -> None:
        self.app = app
        self._csp = content_security_policy(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        asset = path in _ASSETS or path.startswith(_ASSET_PREFIXES)
        https = scope.get("scheme") == "https"  # behind a proxy: only when it is trusted

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                del headers["x-frame-options"]  # superseded by frame-ancestors
                if "content-security-policy" not in headers:  # the page sets its own
                    headers["content-security-policy"] = self._csp
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "no-referrer"
                headers["permissions-policy"] = _PERMISSIONS
                if not asset:  # the API's answers included: none is under an asset path
                    headers["cache-control"] = "no-store"
                if https:
                    headers["strict-transport-security"] = _HSTS
            await send(message)

        await self.app(scope, receive, sending)


class PageHtml:
    """The page's HTML: a nonce on each of its scripts (and the CSP that names it), and its
    own requests kept under a path prefix.

    Gradio's page links ``/manifest.json`` and has no icon link (so the browser asks
    for ``/favicon.ico``): behind a prefix-stripping proxy both leave the prefix and 404.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str]) -> None:
        self.app = app
        self._frame_ancestors = list(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) not in ("", "/"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()
        nonce = secrets.token_urlsafe(18)

        async def buffering(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = MutableHeaders(scope=start)
            page = bytes(body)
            if headers.get("content-type", "").startswith("text/html"):
                page = page.replace(_ROOT_LINK, _RELATIVE_LINKS, 1)
                page = _SCRIPT_TAG.sub(f'<script nonce="{nonce}"'.encode(), page)
                headers["content-security-policy"] = content_security_policy(
                    self._frame_ancestors, nonce
                )
            if "content-length" in headers:
                headers["content-length"] = str(len(page))
            await send(start)
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, buffering)
