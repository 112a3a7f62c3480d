"""CSRF tokens and consent tickets for the HTML sign-in flow, with no server-side session.

CSRF: a random cookie, and in each form an HMAC of it; a POST whose field does not match
its cookie is refused. Consent ticket: after a successful sign-in the consent form carries
a signed, short-lived statement "this person signed in for exactly these authorization
parameters, in the browser holding this CSRF cookie". Both are keyed with a key derived from
the master key for this purpose only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from uuid import UUID

from domain.identity import Principal, StaffRole, SubjectKind

CSRF_COOKIE = "custodian_csrf"
TICKET_LIFETIME = 300


def new_csrf_cookie() -> str:
    """A fresh random CSRF cookie value."""
    return secrets.token_urlsafe(32)


def csrf_field(key: bytes, cookie: str) -> str:
    """The form field value that goes with `cookie`."""
    return hmac.new(key, b"csrf\x00" + cookie.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, cookie: str | None, submitted: str | None) -> bool:
    """Whether the submitted field matches the cookie (constant-time)."""
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(csrf_field(key, cookie), submitted)


def params_digest(params: list[tuple[str, str]]) -> str:
    """A digest of the authorization request's parameters, order-independent."""
    canonical = json.dumps(sorted(params), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ConsentTicket:
    """Who signed in, for which authorization request, until when."""

    principal: Principal
    params: str
    csrf: str
    expires_at: int


def issue_ticket(key: bytes, principal: Principal, params: str, cookie: str, now: int) -> str:
    """A signed consent ticket."""
    body = {
        "k": principal.kind.value,
        "i": str(principal.id),
        "r": principal.role.value if principal.role else None,
        "p": params,
        "c": hashlib.sha256(cookie.encode()).hexdigest(),
        "e": now + TICKET_LIFETIME,
        "t": now,  # when the person signed in: the tokens' `auth_time`
    }
    raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
    mac = hmac.new(key, b"ticket\x00" + raw.encode(), hashlib.sha256).hexdigest()
    return f"{raw}.{mac}"


def read_ticket(
    key: bytes, ticket: str | None, params: str, cookie: str | None, now: int
) -> Principal | None:
    """The principal the ticket names, if it is ours, unexpired and for these parameters
    and this browser; None otherwise."""
    if not ticket or not cookie or "." not in ticket:
        return None
    raw, mac = ticket.rsplit(".", 1)
    expected = hmac.new(key, b"ticket\x00" + raw.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(raw.encode()))
        principal = Principal(
            SubjectKind(body["k"]), UUID(body["i"]), StaffRole(body["r"]) if body["r"] else None
        )
    except (ValueError, KeyError, TypeError):
        return None
    if body["e"] <= now or body["p"] != params:
        return None
    if not hmac.compare_digest(body["c"], hashlib.sha256(cookie.encode()).hexdigest()):
        return None
    return principal


def signed_in_at(ticket: str) -> int | None:
    """When the person signed in (Unix seconds), from a ticket `read_ticket` accepted."""
    try:
        body = json.loads(base64.urlsafe_b64decode(ticket.rsplit(".", 1)[0].encode()))
        moment = body["t"]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return moment if isinstance(moment, int) else None
