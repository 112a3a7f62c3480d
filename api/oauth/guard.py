"""Resource protection for every /v1 route, and the caller handed to handlers.

The middleware runs after routing, so it knows the route's declared scopes
(`opt={"scopes": (...)}`). It answers 401 with `WWW-Authenticate: Bearer
error="invalid_token"` for a missing, malformed, forged, expired, not-yet-valid or revoked
token, and 403 `insufficient_scope` naming the missing scope. A /v1 route that declares no
scopes is refused (fail closed). A request with a second Authorization, X-Access-Purpose or
X-Ticket header is a 400 before any of them is read. On success the caller is resolved once,
as a domain `Caller`, and reaches handlers through the `caller` dependency.

Both refusals are problem documents carrying the request id, written like every other
problem (`urn:custodian:problem:invalid-token` and `...:insufficient-scope`). A
customer refused for a missing scope on a /v1/me route is audited as `denied` (actor from the
token, subject the customer, action the route's `opt["audit"]`, else its operation id): the
attempt was on that customer's data. A 401 is not audited: there is no actor to name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import ASGIMiddleware
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from api.middleware import request_id_of
from api.oauth.services import OAuthServices
from api.problems import problem_document
from domain.customer.access import Access, record_denied
from domain.identity import Caller, SubjectKind
from domain.ports import UnitOfWork

PROTECTED_PREFIX = "/v1"
CUSTOMER_PREFIX = "/v1/me"
SCOPES_OPT = "scopes"
AUDIT_OPT = "audit"
"""`opt["audit"] = (action, resource_type)`: how a refusal on this route is audited."""
logger = logging.getLogger(__name__)


# The problem types name the RFC 6750 error the WWW-Authenticate challenge carries.
UNAUTHORIZED_TYPE = "urn:custodian:problem:invalid-token"
INSUFFICIENT_SCOPE_TYPE = "urn:custodian:problem:insufficient-scope"


async def _deny(send: Send, status: int, challenge: str | None, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()),
    ]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge.encode()))
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


# Headers a request names one value by: sent twice, which one counts is a guess the server
# and whatever sits in front of it may make differently (the token checked, the purpose
# audited). RFC 6750 calls a second Authorization an invalid request.
_ONCE_ONLY = (b"authorization", b"x-access-purpose", b"x-ticket")


def repeated_header(scope: Scope) -> str | None:
    """The name of a header that must come once and came more than once, or None."""
    seen: set[bytes] = set()
    for name, _ in scope.get("headers", []):
        if name in _ONCE_ONLY:
            if name in seen:
                return name.decode("ascii")
            seen.add(name)
    return None


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token:
                return token
            return None
    return None


class BearerGuard(ASGIMiddleware):
    """Checks the access token and the route's scopes on every /v1 request."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, oauth: OAuthServices) -> None:
        self.oauth = oauth

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Let the request through with `scope["user"]` set to its Caller, or refuse it."""
        path = scope["path"]
        if path != PROTECTED_PREFIX and not path.startswith(PROTECTED_PREFIX + "/"):
            await next_app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        repeated = repeated_header(scope)
        if repeated is not None:
            await _deny(
                send,
                400,
                'Bearer error="invalid_request"' if repeated == "authorization" else None,
                problem_document(
                    status=400,
                    detail=f"The {repeated.title()} header was sent more than once; send it once.",
                    request_id=request_id,
                ),
            )
            return
        caller = await self._caller(scope)
        if caller is None:
            await _deny(
                send,
                401,
                'Bearer error="invalid_token"',
                problem_document(
                    status=401,
                    detail="A valid access token is required.",
                    problem_type=UNAUTHORIZED_TYPE,
                    request_id=request_id,
                ),
            )
            return
        required = scope["route_handler"].opt.get(SCOPES_OPT)
        if required is None and scope.get("method") == "OPTIONS":
            # The framework's own answer to OPTIONS: the methods the path allows, which any
            # signed-in caller may learn (a 405 names them too). It reads no data.
            scope["user"] = caller
            await next_app(scope, receive, send)
            return
        if required is None:
            logger.warning("route declares no scopes; refused", extra={"path": path})
            required = ("(undeclared)",)
        missing = [name for name in required if not caller.has_scope(name)]
        if missing:
            names = " ".join(missing)
            # Durable before the answer, like every other audit event.
            await _audit_refusal(scope, caller, request_id)
            await _deny(
                send,
                403,
                f'Bearer error="insufficient_scope", scope="{names}"',
                problem_document(
                    status=403,
                    detail=f"The access token lacks the scope {names}.",
                    problem_type=INSUFFICIENT_SCOPE_TYPE,
                    request_id=request_id,
                    extensions={"error": "insufficient_scope", "scope": names},
                ),
            )
            return
        scope["user"] = caller
        await next_app(scope, receive, send)

    async def _caller(self, scope: Scope) -> Caller | None:
        token = bearer_token(scope)
        if token is None:
            return None
        return await self.oauth.verified.caller(token, now=int(self.oauth.now().timestamp()))


def _uow_factory(scope: Scope) -> Callable[[], UnitOfWork] | None:
    # The guard is built before the app and only holds the OAuth services; the data unit of
    # work is the one the app's handlers use, which create_app keeps in the app state.
    services = scope["app"].state.get("services")
    factory = getattr(services, "uow_factory", None)
    return factory if callable(factory) else None


async def _audit_refusal(scope: Scope, caller: Caller, request_id: str | None) -> None:
    """A `denied` event for a customer refused on one of their own /v1/me routes."""
    path = scope["path"]
    if caller.kind is not SubjectKind.CUSTOMER or caller.subject_id is None:
        return
    if path != CUSTOMER_PREFIX and not path.startswith(CUSTOMER_PREFIX + "/"):
        return
    factory = _uow_factory(scope)
    if factory is None:
        logger.warning("no unit of work in the app state; refusal not audited")
        return
    handler = scope["route_handler"]
    declared = handler.opt.get(AUDIT_OPT)
    if declared is not None:
        action, resource_type = declared
    else:
        # Routes that declare nothing still get an event naming the operation.
        segment = path.removeprefix(CUSTOMER_PREFIX).strip("/").split("/")[0]
        operation = getattr(handler, "operation_id", None)
        action = operation if isinstance(operation, str) else handler.handler_name
        resource_type = segment or "identity"
    access = Access(caller.as_actor(), caller.subject_id, request_id)
    await record_denied(factory, access, str(action), str(resource_type))


def provide_caller(request: Request[Any, Any, State]) -> Caller:
    """The caller the guard resolved for this request (only /v1 routes have one)."""
    caller = request.scope.get("user")
    if not isinstance(caller, Caller):
        raise NotAuthorizedException("no caller: the route is outside the protected prefix")
    return caller
