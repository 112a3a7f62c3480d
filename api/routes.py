"""What every route declares, written once: the scope it needs, the audit event the guard
appends when it refuses the caller, its documented problem responses, and the list and time
query parameters every list shares.

Problem descriptions come from `DOMAIN_PROBLEMS`, the table that decides the answers, so
the document says what the handlers do; a route may word one more precisely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from api.middleware import request_id_of
from api.problems import DOMAIN_PROBLEMS, VALIDATION_TYPE, FieldError, Problem, ProblemException
from domain.customer.access import Access
from domain.errors import InvalidValue
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT

_GUARD_PROBLEMS = {
    401: "Missing, invalid, expired or revoked access token",
    403: "The access token lacks the scope, or the caller may not do this",
}
_REQUEST_PROBLEMS = {
    400: "A parameter, header, body or cursor is not valid",
    404: "No such resource for this caller (missing, someone else's or malformed id)",
    415: "The body is not of a media type this operation accepts",
    422: "One or more values are not valid; `errors` names each field",
}
_FALLBACK_PROBLEMS = {
    410: "The resource existed but is gone for good",
    412: "If-Match names a version that is no longer current",
    428: "If-Match is required",
    429: "Too many requests; retry after `Retry-After` seconds",
}


def _descriptions() -> dict[int, str]:
    # What the guard and request parsing answer, then what each domain error answers.
    described = {**_GUARD_PROBLEMS, **_REQUEST_PROBLEMS}
    for spec in DOMAIN_PROBLEMS.values():
        if spec.status < 500:
            described.setdefault(spec.status, spec.detail.rstrip("."))
    return {**_FALLBACK_PROBLEMS, **described}


DESCRIPTIONS: Mapping[int, str] = _descriptions()
"""The documented meaning of each problem status any route may send."""


def problems(*statuses: int, worded: Mapping[int, str] | None = None) -> dict[int, ResponseSpec]:
    """Problem+json documentation for 401, 403 (the guard's) and each of `statuses`.

    `worded` words some of them more precisely for this route: `{404: "No such export"}`."""
    worded = worded or {}
    wanted = sorted({401, 403, *statuses})
    return {
        status: ResponseSpec(
            Problem,
            description=worded.get(status, DESCRIPTIONS[status]),
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in wanted
    }


def guarded(scope: str, action: str, resource_type: str, *, tag: str) -> dict[str, Any]:
    """Route keywords: the scope the guard requires (and OpenAPI documents), the tag, and
    `opt["audit"]`, the event the guard appends when it refuses the route for its scope."""
    return {
        "opt": {"scopes": (scope,), "audit": (action, resource_type)},
        "security": [{"oauth2": [scope]}],
        "tags": [tag],
    }


def customer_access(caller: Caller, request: Request[Any, Any, Any]) -> Access:
    """The access of a customer caller (NotACustomer, a 403, for staff and services)."""
    return Access(caller.as_actor(), caller.customer_id, request_id_of(request.scope))


Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"How many items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    ),
]
"""The page size every list takes."""

Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=512,
        description=(
            "The `next_cursor` of the previous page, sent with the same filters (a cursor "
            "is bound to them: 400 otherwise); omit for the first page."
        ),
    ),
]
"""The opaque cursor every list takes."""

# Times are taken as text and parsed by parse_time: Litestar's own datetime parsing would
# also accept a bare number as seconds since the epoch, which RFC 3339 does not allow.
_DATE_TIME = {"format": "date-time"}
From = Annotated[
    str | None,
    QueryParameter(
        name="from", schema_extra=_DATE_TIME, description="Only items at or after this time."
    ),
]
To = Annotated[
    str | None,
    QueryParameter(name="to", schema_extra=_DATE_TIME, description="Only items before this time."),
]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_time(text: str | None, name: str) -> datetime | None:
    """A filter time: an RFC 3339 date-time (as the document promises), in UTC.

    Anything else, numbers included, is a 400 naming the parameter."""
    if text is None:
        return None
    invalid = ProblemException(
        400,
        "The request is not valid; see errors.",
        problem_type=VALIDATION_TYPE,
        errors=[FieldError(name, "must be an RFC 3339 date-time", "query")],
    )
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise invalid
    if match.group(1) == "60":  # a leap second: RFC 3339 allows it, Python does not
        text = text[:17] + "59" + text[19:]
    try:
        # An offset can carry a time at the calendar's edge past it (OverflowError).
        return datetime.fromisoformat(text.upper()).astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid from None


def parse_time_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """The filter times `from` (inclusive) and `to` (exclusive), each as `parse_time` reads
    it. A `to` before `from` is a 422 naming `to`, as on every list that takes the two
    (an equal pair is an empty range, not a mistake)."""
    first, last = parse_time(start, "from"), parse_time(end, "to")
    if first is not None and last is not None and last < first:
        raise ProblemException(
            422,
            DOMAIN_PROBLEMS[InvalidValue].detail,
            problem_type=VALIDATION_TYPE,
            errors=[FieldError("to", "must not be before from", "query")],
        )
    return first, last
