"""The pages' security: per-response script nonces and the Content-Security-Policy that
names them, and synchronizer CSRF tokens bound to the session.

The policy allows no inline style or script: styles come from /static/web, and the one
small script a page may carry has the response's nonce. A CSRF token is an HMAC of the
session's digest under a key derived for this one job, so it needs no storage, changes with
every session and cannot be computed without the master key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CSRF_FIELD = "csrf_token"


def new_nonce() -> str:
    """A fresh script nonce (128 bits)."""
    return secrets.token_urlsafe(16)


def content_security_policy(nonce: str) -> str:
    """No inline styles, no scripts but the nonce'd one, forms only to this origin."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def page_headers(nonce: str) -> dict[str, str]:
    """The headers of every page."""
    return {
        "Content-Security-Policy": content_security_policy(nonce),
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }


def csrf_token(key: bytes, session_digest: str) -> str:
    """The CSRF token of the session with this digest."""
    return hmac.new(key, session_digest.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, session_digest: str, submitted: str | None) -> bool:
    """Whether the submitted token is this session's (compared in constant time)."""
    if not submitted:
        return False
    return hmac.compare_digest(csrf_token(key, session_digest), submitted)
