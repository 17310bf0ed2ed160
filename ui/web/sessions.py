"""Browser sessions for sign-in by link: ``/?token=`` becomes a signed cookie and a redirect.

The cookie holds a signed, dated session id (itsdangerous), never the token itself: a
copied cookie expires, and changing the token ends every session, since the signing key is
derived from it. The redirect drops the token from the address bar, so no later request,
Referer or history entry carries it.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import Headers, QueryParams
from starlette.types import Scope

from ui.web.middleware import route_path

__all__ = ["SESSION_COOKIE", "Sessions", "cookies", "without_token"]

SESSION_COOKIE = "assistant_session"
_SALT = "policy-assistant.session"


class Sessions:
    """Issues and checks the session cookie signed with the shared token."""

    def __init__(self, token: str, *, max_age_seconds: int, cross_site: bool = False) -> None:
        self._signer = URLSafeTimedSerializer(token, salt=_SALT)
        self._max_age = max_age_seconds
        self._cross_site = cross_site

    def issue(self) -> str:
        """A new signed session value."""
        return self._signer.dumps(secrets.token_urlsafe(16))

    def valid(self, value: str) -> bool:
        """Whether ``value`` was issued with this token and has not expired."""
        if not value:
            return False
        try:
            self._signer.loads(value, max_age=self._max_age)
        except (BadSignature, UnicodeError, ValueError):
            return False
        return True

    def from_headers(self, headers: Headers) -> bool:
        """Whether the request carries a valid session cookie."""
        return self.valid(cookies(headers.get("cookie", "")).get(SESSION_COOKIE, ""))

    def set_cookie(self, scope: Scope) -> str:
        """The Set-Cookie value for a new session on this request's scheme and path.

        ``SameSite=Lax`` keeps the cookie off cross-site requests; only an https page that
        other sites may frame needs ``None`` (and CORS never allows credentials anyway).
        """
        secure = scope.get("scheme") in ("https", "wss")
        path = scope.get("root_path") or "/"
        same_site = "None" if secure and self._cross_site else "Lax"
        return (
            f"{SESSION_COOKIE}={self.issue()}; Path={path}; Max-Age={self._max_age}; "
            f"HttpOnly; SameSite={same_site}" + ("; Secure" if secure else "")
        )


def without_token(scope: Scope) -> str:
    """The request's own path and query, minus ``token``: where sign-in by link redirects."""
    path = (scope.get("root_path") or "") + (route_path(scope) or "/")
    kept = QueryParams(scope.get("query_string", b"")).multi_items()
    query = urlencode([(k, v) for k, v in kept if k != "token"])
    return path + (f"?{query}" if query else "")


def cookies(header: str) -> dict[str, str]:
    """The cookies of a Cookie header, by name."""
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name: value for name, _, value in pairs if name}
