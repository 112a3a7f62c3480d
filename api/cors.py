"""CORS for browser apps: each registered client's origins may call the API from a page.

A client's origins are the origins (scheme, host, port) of its registered http(s) redirect
URIs: a single-page app registered with `https://app.example/callback` may call the API
from `https://app.example`. The layer wraps the whole application, outside routing, so a
preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here and never
reaches the bearer guard, which would refuse it for lacking a token. A preflight from an
origin no client registered gets 403 problem+json; an actual request from such an origin
is served without CORS headers (the browser then withholds the answer from the page).
Only the data API, the token-related endpoints and discovery are shared; the sign-in pages
are navigations, never cross-origin calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from api.logging import get_logger
from api.middleware import request_id_of
from domain.identity import OAuthClient
from domain.oauth.ports import IdentityUnitOfWork

CORS_PREFIXES = ("/v1/", "/oauth/token", "/oauth/revoke", "/.well-known/")
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, X-Request-ID, X-Access-Purpose, X-Ticket"
)
EXPOSED_HEADERS = "ETag, Location, Retry-After, X-Request-ID, Content-Disposition, WWW-Authenticate"
PREFLIGHT_MAX_AGE = "600"
ORIGINS_TTL_SECONDS = 30.0
"""How long a process trusts its copy of the registered origins (a new client waits this)."""
_log = get_logger("custodian.cors")


def client_origins(client: OAuthClient) -> set[str]:
    """The web origins of a client: those of its http(s) redirect URIs (none once disabled)."""
    origins: set[str] = set()
    if client.disabled:
        return origins
    for uri in client.redirect_uris:
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origins


class RegisteredOrigins:
    """Every registered client's origins, reloaded at most every `ttl` seconds."""

    def __init__(
        self,
        load_clients: Callable[[], Awaitable[list[OAuthClient]]],
        ttl: float = ORIGINS_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load_clients
        self._ttl = ttl
        self._monotonic = monotonic
        self._origins: frozenset[str] = frozenset()
        self._loaded_at: float | None = None

    async def allows(self, origin: str) -> bool:
        """Whether some registered client's redirect URIs share `origin`."""
        now = self._monotonic()
        if self._loaded_at is None or now - self._loaded_at >= self._ttl:
            try:
                clients = await self._load()
            except Exception as error:  # noqa: BLE001 - CORS must not turn into a 500
                # The database is unreachable: keep the origins known so far (none at first)
                # and try again after the next interval; the request itself will say more.
                _log.warning("client origins unavailable", exc_type=type(error).__name__)
                self._loaded_at = now
                return origin.lower() in self._origins
            self._origins = frozenset(o for c in clients for o in client_origins(c))
            self._loaded_at = now
        return origin.lower() in self._origins


def registered_origins(uow_factory: Callable[[], IdentityUnitOfWork]) -> RegisteredOrigins:
    """The origins of the clients stored behind `uow_factory`."""

    async def load() -> list[OAuthClient]:
        async with uow_factory() as uow:
            return await uow.clients.list_all()

    return RegisteredOrigins(load)


def _shared(path: str) -> bool:
    return path.startswith(CORS_PREFIXES)


def _origin(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"origin":
            return value.decode("latin-1")
    return None


def _is_preflight(scope: Scope) -> bool:
    return scope.get("method") == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope["headers"]
    )


class CorsMiddleware:
    """The CORS layer around the whole ASGI application."""

    def __init__(self, app: ASGIApp, origins: RegisteredOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer preflights; add CORS headers to answers for registered origins."""
        if scope["type"] != ScopeType.HTTP or not _shared(scope["path"]):
            await self.app(scope, receive, send)
            return
        origin = _origin(scope)
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = await self.origins.allows(origin)
        if _is_preflight(scope):
            await self._preflight(send, origin, allowed, request_id_of(scope))
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["access-control-allow-origin"] = origin
                headers["access-control-expose-headers"] = EXPOSED_HEADERS
                headers.add("vary", "Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: str, allowed: bool, request_id: str | None) -> None:
        if allowed:
            headers = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            ]
            await _respond(send, 204, headers, b"")
            return
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
                "detail": "This origin is not registered for any client.",
                "request_id": request_id,
            }
        ).encode()
        await _respond(send, 403, [(b"content-type", b"application/problem+json")], body)


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"vary", b"Origin"), (b"content-length", str(len(body)).encode())],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)
