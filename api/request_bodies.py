"""What a JSON request body must be before any of it is decoded.

JSON nested deeper than the decoder can follow raises RecursionError inside it:
`handle_recursion_error` answers that with 400 (registered by the application factory).

Litestar decodes a body whatever its Content-Type says and converts loosely (`"true"`, `1`
and `"0"` become booleans). For the writes a customer's data depends on, neither is good
enough: a body that is not JSON is refused with 415 (`json_body_only`, a route guard, which
runs before the body is read), and a decision is taken from the body decoded strictly
(`strict_body`), so only a JSON `true` grants consent.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.problems import (
    VALIDATION_TYPE,
    FieldError,
    ProblemException,
    handle_unexpected,
    problem_response,
)

JSON_MEDIA_TYPES = frozenset({"application/json", "application/merge-patch+json"})
"""The media types a JSON body may be sent as."""

T = TypeVar("T")


def _media_type(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    value = connection.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def json_body_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Route guard: 415 unless the body is declared as one of the route's JSON media types
    (`opt["body_media_types"]`, default JSON_MEDIA_TYPES)."""
    allowed = frozenset(handler.opt.get("body_media_types", JSON_MEDIA_TYPES))
    if _media_type(connection) in allowed:
        return
    accepted = ", ".join(sorted(allowed))
    headers = {"Accept-Patch": accepted} if connection.scope.get("method") == "PATCH" else {}
    raise ProblemException(
        415,
        f"The body must be JSON, sent as {accepted}.",
        problem_type="urn:custodian:problem:unsupported-media-type",
        headers=headers,
    )


async def strict_body(request: Request[Any, Any, Any], shape: type[T]) -> T:
    """The body decoded as `shape` with no type coercion: Litestar converts bodies leniently
    (0 becomes false, "5" becomes 5), the document promises exact types. A string or a
    number where a boolean belongs is a 400 naming the member, like every other invalid
    body."""
    try:
        raw = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        raise ProblemException(
            400,
            "The request body is not valid JSON.",
            problem_type=VALIDATION_TYPE,
            errors=[FieldError("body", "is not valid JSON", "body")],
        ) from None
    if isinstance(raw, dict):
        # JSON Schema counts 58.0 as an integer; none of these bodies has a float member.
        raw = {
            key: int(value) if isinstance(value, float) and value.is_integer() else value
            for key, value in raw.items()
        }
    try:
        return msgspec.convert(raw, type=shape, strict=True)
    except msgspec.ValidationError as error:
        # msgspec says "Expected `bool`, got `str` - at `$.granted`": name the member.
        message, _, where = str(error).partition(" - at `$.")
        field = where.rstrip("`").split(".", 1)[0].split("[", 1)[0] or "body"
        raise ProblemException(
            400,
            "The request is not valid; see errors.",
            problem_type=VALIDATION_TYPE,
            errors=[FieldError(field, message, "body")],
        ) from None


# Where a request body is decoded: a RecursionError raised there is the client's JSON nested
# deeper than the decoder can follow, not a bug of ours.
_BODY_DECODERS = ("litestar.serialization", "msgspec")


def _raised_while_decoding(exc: BaseException) -> bool:
    frame = exc.__traceback__
    last_module = ""
    while frame is not None:
        last_module = str(frame.tb_frame.f_globals.get("__name__", ""))
        frame = frame.tb_next
    return last_module.startswith(_BODY_DECODERS)


def handle_recursion_error(request: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    """A body nested too deeply to decode is a 400; any other RecursionError is a bug."""
    if not _raised_while_decoding(exc):
        return handle_unexpected(request, exc)
    return problem_response(
        request,
        status=400,
        detail="The request body is nested too deeply.",
        problem_type=VALIDATION_TYPE,
        errors=[FieldError("body", "is nested too deeply", "body")],
    )
