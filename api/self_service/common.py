"""What every self-service route shares: documented problem responses, the caller's access,
the list parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from litestar import Request
from litestar.openapi.datastructures import ResponseSpec

from api.middleware import request_id_of
from api.oauth.me import Problem
from api.problems import VALIDATION_TYPE, FieldError, ProblemException
from domain.customer.access import Access
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT

TAG = "self-service"

_DESCRIPTIONS = {
    400: "A query parameter or the cursor is not valid (malformed or tampered)",
    401: "Missing, invalid, expired or revoked access token",
    403: "The access token lacks the scope, or the caller is not a customer",
    404: "No such resource for this customer (missing, someone else's or malformed id)",
    409: "The request conflicts with the current state",
    412: "If-Match names a version that is no longer current",
    415: "The body is not JSON (send application/json or application/merge-patch+json)",
    422: "One or more values are not valid; `errors` names each field",
    428: "If-Match is required, and must name an ETag (`*` is refused)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem+json response documentation for 401, 403 and each of `statuses`."""
    return {
        status: ResponseSpec(
            Problem,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in sorted({401, 403, *statuses})
    }


def guarded(scope: str, action: str, resource_type: str) -> dict[str, Any]:
    """Route keywords: the scope the guard requires (and OpenAPI documents), the tag, and
    `opt["audit"]`, the event the guard appends when it refuses the route for its scope."""
    return {
        "opt": {"scopes": (scope,), "audit": (action, resource_type)},
        "security": [{"oauth2": [scope]}],
        "tags": [TAG],
    }


def customer_access(caller: Caller, request: Request[Any, Any, Any]) -> Access:
    """The access of a customer caller (NotACustomer, a 403, for staff and services)."""
    return Access(caller.as_actor(), caller.customer_id, request_id_of(request.scope))


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_time(text: str | None, name: str) -> datetime | None:
    """A filter time: an RFC 3339 date-time (as the document promises), in UTC.

    Litestar's own datetime parsing also takes numbers as Unix times ("0.5"), which the
    document does not allow; anything but RFC 3339 is a 400 naming the parameter."""
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
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        raise invalid from None
    return moment.astimezone(UTC)


LIMIT_DOC = f"How many items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."
CURSOR_DOC = "The `next_cursor` of the previous page; omit for the first page."
