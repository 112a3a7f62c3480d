"""RFC 9457 problem details: every error the API sends is `application/problem+json`.

Controllers raise domain errors (domain.errors and friends) or ProblemException; the
exception handlers here turn them, and Litestar's own HTTP exceptions (404 for an unknown
route, 405, 413, request validation), into problem documents. `DOMAIN_PROBLEMS` is the one
table mapping domain errors to HTTP. Server errors never reveal internals: the client gets a
generic sentence and the request id; the log gets the exception type and raise site.

One kind of unexpected error is not a bug: the database going away under a request (its
connection terminated, a restart, a refused connection, an exhausted pool). That is a 503
problem with `Retry-After`, never a 500: the pool throws the broken connections away and the
next request gets a fresh one, so a client that retries is answered once the database is back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

import msgspec
import sqlalchemy.exc
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from api.logging import describe_exception, get_logger
from api.middleware import current_request_id, request_id_of
from domain.audit.proofs import NotYetSigned
from domain.audit.tree_check import AuditLogBroken
from domain.consent.purposes import NotWithdrawable, OutdatedNotice
from domain.dsr.requests import ArchiveExpired, ArchiveNotReady
from domain.errors import (
    Conflict,
    DomainError,
    IntegrityError,
    InvalidValue,
    NotFound,
    ValidationFailed,
)
from domain.identity import HashingBusy, InvalidScopes, LoginThrottled, NotACustomer
from domain.pagination import InvalidCursor
from domain.recent_sign_in import RecentSignInRequired
from domain.self_service.errors import PreconditionFailed, PreconditionRequired
from domain.support.access import RestrictedCustomer

PROBLEM_JSON = "application/problem+json"
BLANK = "about:blank"
VALIDATION_TYPE = "urn:custodian:problem:validation-failed"
SERVER_ERROR_DETAIL = (
    "The server could not complete the request. Quote the request id if you report it."
)

_log = get_logger("custodian.errors")


class Problem(msgspec.Struct):
    """An RFC 9457 problem document, as route documentation names it (api.openapi_doc
    replaces its schema with the full one every problem response follows)."""

    type: str
    title: str
    status: int
    detail: str
    error: str | None = None
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input: which field, what is wrong, and where it came from (body, query...)."""

    field: str
    message: str
    source: str | None = None

    def to_json(self) -> dict[str, str]:
        """The member of a problem's `errors` array."""
        out = {"field": self.field, "message": self.message}
        if self.source is not None:
            out["source"] = self.source
        return out


class ProblemException(HTTPException):
    """Raise from a controller to answer with a specific problem (412, 428, 403, ...)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        problem_type: str = BLANK,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] = (),
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            detail=detail, status_code=status, headers=dict(headers) if headers else None
        )
        self.title = title or HTTPStatus(status).phrase
        self.problem_type = problem_type
        self.errors = tuple(errors)
        self.extensions = dict(extensions or {})


def problem_response(
    request: Request[Any, Any, Any] | None,
    *,
    status: int,
    detail: str,
    title: str | None = None,
    problem_type: str = BLANK,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response[bytes]:
    """A problem+json response carrying the request id; `title` defaults to the status phrase.

    Without `request` (hooks that only see a response), the id comes from the logging context
    the middleware bound for this request.
    """
    request_id = request_id_of(request.scope) if request is not None else None
    return Response(
        content=problem_document(
            status=status,
            detail=detail,
            title=title,
            problem_type=problem_type,
            request_id=request_id or current_request_id(),
            errors=errors,
            extensions=extensions,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def problem_document(
    *,
    status: int,
    detail: str,
    request_id: str | None,
    title: str | None = None,
    problem_type: str = BLANK,
    errors: Sequence[FieldError] = (),
    extensions: Mapping[str, Any] | None = None,
) -> bytes:
    """The JSON of a problem document, for the responses above and for middleware that
    answers on its own (the bearer guard, the rate limit): the same members, the same
    encoding."""
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        # Always present: outside the middleware (never in practice) a fresh id still lets
        # the client quote something.
        "request_id": request_id or uuid.uuid4().hex,
    }
    if errors:
        body["errors"] = [error.to_json() for error in errors]
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)  # extensions never override the standard members
    return msgspec.json.encode(body)


@dataclass(frozen=True, slots=True)
class ProblemSpec:
    """How one kind of domain error is answered.

    `detail` is the fixed sentence sent when `expose_message` is False; otherwise the error's
    own message (written for the customer at the raise site) is sent.
    """

    status: int
    problem_type: str
    detail: str
    expose_message: bool = False
    headers: Callable[[DomainError], Mapping[str, str]] | None = None


def _retry_after(seconds: int) -> Callable[[DomainError], Mapping[str, str]]:
    def headers(error: DomainError) -> Mapping[str, str]:
        return {"Retry-After": str(getattr(error, "retry_after", seconds))}

    return headers


def _step_up(error: DomainError) -> Mapping[str, str]:
    # RFC 9470: the client gets a new token after a fresh sign-in (max_age / prompt=login).
    max_age = getattr(error, "max_age", 300)
    return {
        "WWW-Authenticate": (
            f'Bearer error="insufficient_user_authentication", '
            f'error_description="A more recent sign-in is required", max_age={max_age}'
        )
    }


# The one mapping from domain errors to HTTP; the most specific class in the MRO wins.
DOMAIN_PROBLEMS: Mapping[type[DomainError], ProblemSpec] = {
    # Missing and someone else's are the same answer: a fixed sentence, never the message.
    NotFound: ProblemSpec(
        404, "urn:custodian:problem:not-found", "The requested resource does not exist."
    ),
    Conflict: ProblemSpec(
        409,
        "urn:custodian:problem:conflict",
        "The request conflicts with the current state.",
        expose_message=True,
    ),
    InvalidValue: ProblemSpec(422, VALIDATION_TYPE, "One or more values are not valid."),
    ValidationFailed: ProblemSpec(422, VALIDATION_TYPE, "One or more values are not valid."),
    IntegrityError: ProblemSpec(500, BLANK, SERVER_ERROR_DETAIL),
    InvalidCursor: ProblemSpec(
        400,
        "urn:custodian:problem:invalid-cursor",
        "The cursor is not valid; start again from the first page.",
    ),
    PreconditionRequired: ProblemSpec(
        428,
        "urn:custodian:problem:precondition-required",
        "If-Match is required: send the ETag you read.",
        expose_message=True,
    ),
    PreconditionFailed: ProblemSpec(
        412,
        "urn:custodian:problem:precondition-failed",
        "The resource has changed since you read it.",
        expose_message=True,
    ),
    OutdatedNotice: ProblemSpec(
        409,
        "urn:custodian:problem:outdated-notice",
        "The notice version is not the current one.",
        expose_message=True,
    ),
    NotWithdrawable: ProblemSpec(
        422,
        "urn:custodian:problem:not-withdrawable",
        "This purpose is not based on consent.",
        expose_message=True,
    ),
    RestrictedCustomer: ProblemSpec(
        403,
        "urn:custodian:problem:processing-restricted",
        "The customer has restricted processing of their data.",
        expose_message=True,
    ),
    NotACustomer: ProblemSpec(
        403,
        "urn:custodian:problem:customers-only",
        "This operation is only available to customers.",
    ),
    InvalidScopes: ProblemSpec(
        403,
        "urn:custodian:problem:scope-not-allowed",
        "The requested scopes are not allowed.",
        expose_message=True,
    ),
    LoginThrottled: ProblemSpec(
        429,
        "urn:custodian:problem:throttled",
        "Too many failed sign-ins; try again later.",
        headers=_retry_after(60),
    ),
    # Exports take seconds to minutes: poll the status, or try the download again.
    ArchiveNotReady: ProblemSpec(
        409,
        "urn:custodian:problem:conflict",
        "The request conflicts with the current state.",
        expose_message=True,
        headers=_retry_after(5),
    ),
    # A signed tree head comes at least once a minute while events arrive (by default).
    NotYetSigned: ProblemSpec(
        409,
        "urn:custodian:problem:conflict",
        "The request conflicts with the current state.",
        expose_message=True,
        headers=_retry_after(60),
    ),
    ArchiveExpired: ProblemSpec(
        410,
        "urn:custodian:problem:export-expired",
        "The archive has expired; ask for a new export.",
        expose_message=True,
    ),
    AuditLogBroken: ProblemSpec(
        503,
        "urn:custodian:problem:audit-log-unavailable",
        "The audit log cannot record this request; a privacy officer has to check it.",
    ),
    RecentSignInRequired: ProblemSpec(
        401,
        "urn:custodian:problem:recent-sign-in-required",
        "A recent sign-in is required; sign in again and retry.",
        expose_message=True,
        headers=_step_up,
    ),
    HashingBusy: ProblemSpec(
        503,
        "urn:custodian:problem:busy",
        "The server is busy; try again shortly.",
        headers=_retry_after(1),
    ),
}
# A domain error nobody mapped is still the client's request failing a rule, not a crash.
_UNMAPPED = ProblemSpec(
    422, "urn:custodian:problem:unprocessable", "The request cannot be processed."
)


def spec_for(error: DomainError) -> ProblemSpec:
    """The problem spec for `error`: its own class's entry, else its nearest mapped base."""
    for cls in type(error).__mro__:
        spec = DOMAIN_PROBLEMS.get(cls)
        if spec is not None:
            return spec
    return _UNMAPPED


def _field_errors(error: DomainError) -> list[FieldError]:
    if isinstance(error, InvalidValue):
        return [FieldError(error.field, error.message)]
    if isinstance(error, ValidationFailed):
        return [FieldError(field, message) for field, message in error.problems.items()]
    return []


def _log_server_error(request: Request[Any, Any, Any], exc: BaseException) -> None:
    event: dict[str, Any] = {"method": request.method, "route": request.scope.get("path_template")}
    describe_exception(event, exc)
    _log.error("unhandled error", **event)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    """Answer a domain error through DOMAIN_PROBLEMS."""
    spec = spec_for(exc)
    if spec.status >= 500:
        _log_server_error(request, exc)
    elif spec is _UNMAPPED:
        _log.warning("domain error without a problem mapping", exc_type=type(exc).__qualname__)
    detail = str(exc) if spec.expose_message and str(exc) else spec.detail
    headers = spec.headers(exc) if spec.headers is not None else None
    return problem_response(
        request,
        status=spec.status,
        detail=detail,
        problem_type=spec.problem_type,
        errors=_field_errors(exc),
        headers=headers,
    )


def _source(value: Any) -> str | None:
    # Litestar says where a parameter came from with its ParamType enum, whose str() is
    # "ParamType.QUERY": the client gets the value ("query", "header", "path", "cookie"),
    # the words every other problem and the document use.
    if not value:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


# Litestar's words for a required parameter that was not sent, followed by the whole URL.
_MISSING_PARAMETER = re.compile(
    r"Missing required (?P<source>\w+) parameter (?P<name>'[^']*'|\"[^\"]*\") for path "
)


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[bytes]:
    """Request parsing failed (msgspec/Litestar): 400 with one entry per invalid field.

    Litestar's own details quote the URL with its query string, which can carry personal
    data (an email searched for) into the body and the client's logs: they are replaced,
    and a missing parameter is named on its own.
    """
    errors: list[FieldError] = []
    missing = _MISSING_PARAMETER.match(exc.detail)
    if missing is not None:
        errors.append(FieldError(missing["name"][1:-1], "is required", missing["source"]))
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, Mapping):
            errors.append(
                FieldError(
                    field=_wire_name(request, str(item.get("key") or "body")),
                    message=str(item.get("message") or "invalid value"),
                    source=_source(item.get("source")),
                )
            )
    detail = (
        "The request is not valid; see errors."
        if errors
        else exc.detail
        if " for path " not in exc.detail and not exc.detail.startswith("Validation failed for")
        else "The request is not valid."
    )
    return problem_response(
        request,
        status=exc.status_code,
        detail=detail,
        problem_type=VALIDATION_TYPE,
        errors=errors,
        headers=exc.headers,
    )


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name the client sent a parameter under (`X-Access-Purpose`, `from`), where
    Litestar's error names the handler's argument (`purpose`, `booked_from`)."""
    handler = request.scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    parameter = getattr(signature, "parameters", {}).get(key)
    name = getattr(getattr(parameter, "kwarg_definition", None), "name", None)
    return name if isinstance(name, str) and name else key


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's HTTP exceptions (404, 405 with Allow, 413, 401...) and ProblemException."""
    if isinstance(exc, ProblemException):
        return problem_response(
            request,
            status=exc.status_code,
            detail=exc.detail,
            title=exc.title,
            problem_type=exc.problem_type,
            errors=exc.errors,
            headers=exc.headers,
            extensions=exc.extensions,
        )
    if exc.status_code >= 500:
        # Litestar's 5xx details can describe internals (a misconfigured handler...).
        _log_server_error(request, exc)
        return problem_response(
            request, status=exc.status_code, detail=SERVER_ERROR_DETAIL, headers=exc.headers
        )
    return problem_response(
        request, status=exc.status_code, detail=_clearer_detail(request, exc), headers=exc.headers
    )


def _clearer_detail(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    """The framework's own 404, 405 and 413 say only the status's name; these say what went
    wrong and what to do. A detail of the app's own is kept."""
    detail = str(exc.detail)
    if detail != HTTPStatus(exc.status_code).phrase:
        return detail
    if exc.status_code == 404:
        return "There is nothing at this path; /schema/openapi.json lists the API's paths."
    if exc.status_code == 405:
        return (
            f"This path does not take {request.method}; the Allow header names the methods it does."
        )
    limit = request.app.request_max_body_size
    if exc.status_code == 413 and isinstance(limit, int):
        return f"The body is larger than the {limit:,} bytes a request may carry."
    return detail


DATABASE_UNAVAILABLE_TYPE = "urn:custodian:problem:database-unavailable"
DATABASE_RETRY_AFTER = "1"
# SQLSTATE classes that mean "the database cannot serve this now", not "the query is wrong":
# 08 connection exception, 53 insufficient resources (too many connections), 57P operator
# intervention (the connection terminated by an administrator, a shutdown, a server starting).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
# A database that refuses new connections for a while (ALLOW_CONNECTIONS false) answers
# 55000 with this text; 55000 otherwise names query errors, which stay 500s.
_NOT_ACCEPTING = "not currently accepting connections"


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or an error it wraps or was caused by, says the database is
    unreachable right now."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sqlalchemy.exc.TimeoutError | ConnectionError | TimeoutError):
            return True  # (the pool's wait for a connection; a refused or reset socket)
        state = str(getattr(current, "sqlstate", "") or "")
        if state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if state == "55000" and _NOT_ACCEPTING in str(current):
            return True
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)
    return False


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Anything else is a bug: 500 with a generic sentence; the log gets the type only.
    Except a database that went away: 503 with Retry-After (see the module docstring)."""
    if database_unavailable(exc):
        event: dict[str, Any] = {
            "method": request.method,
            "route": request.scope.get("path_template"),
        }
        describe_exception(event, exc)
        _log.warning("database unavailable", **event)
        return problem_response(
            request,
            status=503,
            detail="The database is unavailable for a moment; retry shortly.",
            problem_type=DATABASE_UNAVAILABLE_TYPE,
            headers={"Retry-After": DATABASE_RETRY_AFTER},
        )
    _log_server_error(request, exc)
    return problem_response(request, status=500, detail=SERVER_ERROR_DETAIL)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    DomainError: handle_domain_error,
    Exception: handle_unexpected,
}
