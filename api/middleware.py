"""The outermost ASGI layer: request id, security headers and the access log line.

It wraps the whole Litestar application (not just matched routes), so a 404 for an unknown
path or a 405 gets the same headers and log line as any other response.

Headers are defaults: a response that sets its own `Content-Security-Policy` or
`Cache-Control` keeps it. That is how the OAuth HTML pages send a form-friendly CSP:
set the header on the handler (`response_headers=[ResponseHeader(...)]`) or the Response.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.logging import get_logger

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_STATE_KEY = "custodian.request_id"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=63072000; includeSubDomains"
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")

BASE_SECURITY_HEADERS: Mapping[str, str] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# Sent only when the response did not choose its own value.
DEFAULT_HEADERS: Mapping[str, str] = {
    "content-security-policy": API_CSP,
    "cache-control": "no-store",
}

_access_log = get_logger("custodian.access")

# The same headers as bytes, built once: every response gets them.
_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode()
_SECURITY = [(name.encode(), value.encode()) for name, value in BASE_SECURITY_HEADERS.items()]
_DEFAULTS = [(name.encode(), value.encode()) for name, value in DEFAULT_HEADERS.items()]
_HSTS = (b"strict-transport-security", HSTS.encode())
_FORCED_NAMES = frozenset({_REQUEST_ID_NAME, *(name for name, _ in _SECURITY)})
_FORCED_NAMES_WITH_HSTS = _FORCED_NAMES | {_HSTS[0]}


def accept_request_id(value: str | None) -> str:
    """The caller's request id when well-formed (8-128 of [A-Za-z0-9._-]), else a new one.

    A malformed id is replaced rather than echoed: it could smuggle a header or a log line.
    """
    if value is not None and _WELL_FORMED_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_id_of(scope: Scope | Mapping[str, Any]) -> str | None:
    """The id the middleware gave this request (None outside a request)."""
    state = scope.get("state")
    if isinstance(state, Mapping):
        value = state.get(REQUEST_ID_STATE_KEY)
        return value if isinstance(value, str) else None
    return None


def current_request_id() -> str | None:
    """The id of the request this task is handling (bound into the logging context)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def _header(scope: Scope, name: bytes) -> str | None:
    # The first occurrence wins; latin-1 maps every byte, so decoding cannot fail.
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RequestContextMiddleware:
    """Gives each HTTP request an id, adds security headers, writes one access log line."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point; other scope types pass through untouched."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        request_id = accept_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        state = scope.setdefault("state", {})
        state[REQUEST_ID_STATE_KEY] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _with_headers(
                    message.get("headers", ()), request_id.encode(), hsts=self.hsts
                )
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                # Only the route template is logged: paths and query strings can carry data.
                _access_log.info(
                    "request",
                    method=method,
                    route=scope.get("path_template"),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


def _with_headers(
    headers: Iterable[tuple[bytes, bytes]], request_id: bytes, *, hsts: bool
) -> list[tuple[bytes, bytes]]:
    """A response's headers with the request id, the security headers (and HSTS) set,
    replacing any the response had, and each default added unless the response chose its
    own. One pass over the headers, where setting them one by one searched them each time."""
    replaced = _FORCED_NAMES_WITH_HSTS if hsts else _FORCED_NAMES
    kept = [(name, value) for name, value in headers if name.lower() not in replaced]
    present = {name.lower() for name, _ in kept}
    kept += _SECURITY
    kept.append((_REQUEST_ID_NAME, request_id))
    kept += [header for header in _DEFAULTS if header[0] not in present]
    if hsts:
        kept.append(_HSTS)
    return kept
