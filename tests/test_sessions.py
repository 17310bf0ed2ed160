"""The session cookie of sign-in by link: signed with the token, dated, never the token."""

from __future__ import annotations

import time

from starlette.datastructures import Headers

from ui.web import Sessions
from ui.web.sessions import without_token

TOKEN = "a-token-of-twenty-chars"


def test_a_session_holds_no_token_and_is_valid_only_for_its_token() -> None:
    sessions = Sessions(TOKEN, max_age_seconds=3600)
    value = sessions.issue()
    assert TOKEN not in value
    assert sessions.valid(value)
    assert value != sessions.issue()  # each sign-in its own session
    # A new token ends every session signed with the old one.
    assert not Sessions(TOKEN + "-rotated", max_age_seconds=3600).valid(value)
    # The signature's last base64 character carries padding bits ('A' and 'B' can decode
    # alike): tamper with the one before it, which is all data.
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert not sessions.valid(tampered)
    assert not sessions.valid("")
    assert not sessions.valid(TOKEN)


def test_a_session_expires() -> None:
    sessions = Sessions(TOKEN, max_age_seconds=1)
    value = sessions.issue()
    assert sessions.valid(value)
    time.sleep(2.1)
    assert not sessions.valid(value)


def test_the_cookie_is_lax_unless_an_https_page_may_be_framed_by_other_sites() -> None:
    http = {"type": "http", "scheme": "http", "root_path": "/assistant"}
    https = {**http, "scheme": "https"}
    plain = Sessions(TOKEN, max_age_seconds=60)
    framed = Sessions(TOKEN, max_age_seconds=60, cross_site=True)
    assert "SameSite=Lax" in plain.set_cookie(http)
    assert "Secure" not in plain.set_cookie(http)
    assert "Path=/assistant;" in plain.set_cookie(http)
    assert plain.set_cookie(https).endswith("SameSite=Lax; Secure")
    assert framed.set_cookie(https).endswith("SameSite=None; Secure")
    assert "SameSite=Lax" in framed.set_cookie(http)  # None needs Secure: never over http
    value = framed.set_cookie(https).split(";", 1)[0].split("=", 1)[1]
    assert framed.from_headers(Headers({"cookie": f"other=1; assistant_session={value}"}))


def test_the_redirect_keeps_everything_but_the_token() -> None:
    scope = {
        "type": "http",
        "path": "/assistant/",
        "root_path": "/assistant",
        "query_string": b"token=secret&lang=nl&token=again&q=a%20b",
    }
    assert without_token(scope) == "/assistant/?lang=nl&q=a+b"
    assert without_token({"type": "http", "path": "/", "query_string": b"token=x"}) == "/"
