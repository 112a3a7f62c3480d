"""The pages' security primitives: the policy, the CSRF token, the session cookie's flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.oauth.authorize import redirect_source
from api.settings import Settings
from api.web.security import content_security_policy, csrf_ok, csrf_token, new_nonce
from api.web.signin import WebApp, session_cookie
from api.web.wiring import WebWiring
from domain.clock import SystemClock

APP = WebApp(name="portal", prefix="/portal", client_id="portal", scopes="profile:read")


def _wiring(issuer: str) -> WebWiring:
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        data_dir=Path("unused"),
        master_key=bytes(32),
        issuer=issuer,
    )
    return WebWiring(settings, SystemClock(), None, {}, b"k" * 32)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("issuer", "secure"), [("https://custodian.example", True), ("http://127.0.0.1:8000", False)]
)
def test_the_session_cookie_is_secure_over_https_only(issuer: str, secure: bool) -> None:
    cookie = session_cookie(APP, _wiring(issuer), "token")
    assert cookie.secure is secure
    assert cookie.httponly is True
    assert cookie.samesite == "lax"
    assert cookie.path == "/portal"
    header = cookie.to_header()
    assert "HttpOnly" in header
    assert ("Secure" in header) is secure


def test_the_policy_allows_only_the_nonced_script_and_no_inline_style() -> None:
    nonce = new_nonce()
    policy = content_security_policy(nonce)
    assert f"script-src 'nonce-{nonce}'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe" not in policy
    assert new_nonce() != nonce


def test_a_csrf_token_belongs_to_one_session() -> None:
    key = b"k" * 32
    token = csrf_token(key, "a" * 64)
    assert csrf_ok(key, "a" * 64, token)
    assert not csrf_ok(key, "b" * 64, token)
    assert not csrf_ok(b"x" * 32, "a" * 64, token)
    assert not csrf_ok(key, "a" * 64, None)
    assert not csrf_ok(key, "a" * 64, "")


def test_timestamps_are_shown_in_utc_to_the_minute() -> None:
    from api.web.pages import when  # noqa: PLC0415

    assert when("2026-12-02T15:15:41.852611Z") == "2026-12-02 15:15 UTC"
    assert when("2026-12-02T16:15:00+01:00") == "2026-12-02 15:15 UTC"
    assert when("2026-12-02") == "2026-12-02 00:00"
    assert when("not a time") == "not a time"
    assert when(None) == ""


@pytest.mark.parametrize(
    ("redirect_uri", "source"),
    [
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:8765"),
        ("https://App.Example/cb?x=1#f", "https://app.example"),
        ("https://user@app.example:8443/cb", "https://app.example:8443"),
        ("com.example.app:/cb", "com.example.app:"),
        ("http://[::1]:8765/cb", "http:"),  # CSP cannot name an IPv6 literal
        ("https://app.example;script-src */cb", "https:"),  # never a directive of its own
        ("https://app.example:99999/cb", None),
        ("/relative", None),
    ],
)
def test_the_sign_in_pages_name_the_redirect_uri_by_its_origin_only(
    redirect_uri: str, source: str | None
) -> None:
    assert redirect_source(redirect_uri) == source
