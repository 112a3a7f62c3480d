"""A request rate limit on the data API (/v1) and the token endpoint.

Each caller has a token bucket per surface: `per_minute` requests, refilled continuously,
with a burst of the same size. On /v1 the caller is the person the access token was issued
to, within its client (this middleware runs after the bearer guard): the users of one app
(the portal, a mobile app) each have their own allowance, so one of them cannot spend
everyone's; a service client, which acts for nobody, has one bucket. At /oauth/token it is
the client the request names (HTTP Basic user or the `client_id` form field) together with
the caller's address, so a stranger naming someone else's client id only spends their own
bucket. A refused request gets 429 problem+json with `Retry-After` (whole seconds).

The buckets live in each process's memory ("per process"), which keeps the check free of
database writes on every request. `custodian serve --workers N` therefore hands each of its
processes the limit divided by N (`api.cli.main.per_process_limits`), so the processes of one
server together never allow more than the limit. Separate servers each enforce their own; a
deployment that needs one global limit puts it in front of them (the load balancer). The
sign-in throttle, which must hold against a distributed guesser, is different: its counters
are rows in the database, shared by every process (persistence.oauth.throttle).
"""

from __future__ import annotations

import base64
import binascii
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from api.middleware import request_id_of
from api.problems import problem_document
from domain.identity import Caller

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
API_PREFIX = "/v1/"
RATE_LIMITED_TYPE = "urn:custodian:problem:rate-limited"
MAX_BUCKETS = 100_000
"""Buckets kept per surface, about 150 bytes each; the least recently used go first (bounded
memory). A person idle for a minute has a full bucket again, so forgetting theirs loses
nothing."""
MAX_FORM_BYTES = 64 * 1024


class TokenBuckets:
    """Token buckets by key: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._monotonic = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request of `key`'s bucket: 0 when allowed, else seconds until allowed."""
        now = self._monotonic()
        tokens, last = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return wait


def _basic_user(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, encoded = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return decoded.partition(":")[0] or None
    return None


async def _buffered_body(receive: Receive) -> tuple[bytes, Receive]:
    """The request body (up to MAX_FORM_BYTES are inspected) and a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False) and size <= MAX_FORM_BYTES
    body = b"".join(chunks)
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if not replayed:
            replayed = True
            first: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": more}
            return first
        return await receive()

    return body, replay


def _allowance_of(caller: Caller) -> str:
    """Whose bucket a /v1 request spends: the person's within the client, or the service
    client's own."""
    if caller.subject_id is None:
        return caller.client_id
    return f"{caller.client_id} {caller.kind.value} {caller.subject_id}"


class RateLimit(ASGIMiddleware):
    """429 once a caller has spent its requests of the minute (see the module docstring)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, api_per_minute: int, token_per_minute: int) -> None:
        self.api = TokenBuckets(api_per_minute) if api_per_minute > 0 else None
        self.token = TokenBuckets(token_per_minute) if token_per_minute > 0 else None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Let the request through, or answer 429 with Retry-After."""
        path = scope["path"]
        wait = 0.0
        if self.api is not None and path.startswith(API_PREFIX):
            caller = scope.get("user")
            if isinstance(caller, Caller):
                wait = self.api.take(_allowance_of(caller))
        elif self.token is not None and path == TOKEN_PATH:
            body, receive = await _buffered_body(receive)
            client_id = _basic_user(scope) or dict(
                parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            ).get("client_id", "")
            client = scope.get("client")
            address = client[0] if client else "unknown"
            wait = self.token.take(f"{client_id}\x00{address}")
        if wait > 0:
            await _too_many(send, math.ceil(wait), request_id_of(scope))
            return
        await next_app(scope, receive, send)


async def _too_many(send: Send, retry_after: int, request_id: str | None) -> None:
    body = problem_document(
        status=429,
        detail=f"Too many requests from this caller; retry in {retry_after} seconds.",
        problem_type=RATE_LIMITED_TYPE,
        request_id=request_id,
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 429,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"retry-after", str(retry_after).encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)
