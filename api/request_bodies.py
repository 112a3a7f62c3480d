"""What a JSON request body must be before any of it is decoded.

Every JSON body is decoded by `decoded_json` (`JsonBodyRequest`, the application's request
class, hands it to Litestar): a body that is not JSON and one naming a member twice in the
same object are 400 problems, and so is no body at all (`refuse_an_empty_body`). JSON
parsers keep the last of two equal names, so `{"granted": true, ..., "granted": false}`
would be read as a withdrawal the client may not have meant; for a consent ledger ambiguous
input is refused, not guessed at.

JSON nested deeper than the decoder can follow raises RecursionError inside it:
`handle_recursion_error` answers that with 400 (registered by the application factory).

Litestar decodes a body whatever its Content-Type says and converts loosely (`"true"`, `1`
and `"0"` become booleans). For the writes a customer's data depends on, neither is good
enough: a body that is not JSON is refused with 415 (`json_body_only`, a route guard, which
runs before the body is read), and a decision is taken from the body decoded strictly
(`strict_body`), so only a JSON `true` grants consent.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Empty, Guard

from api.problems import (
    VALIDATION_TYPE,
    FieldError,
    ProblemException,
    handle_unexpected,
    problem_response,
)

T = TypeVar("T")


def _media_type(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    value = connection.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def json_body_as(*media_types: str) -> Guard:
    """A route guard: 415 unless the body is declared as one of `media_types`, the ones
    this route documents; the answer names them (and, to a PATCH, says them in
    Accept-Patch)."""
    allowed = frozenset(media_types)
    accepted = ", ".join(sorted(allowed))

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if _media_type(connection) in allowed:
            return
        headers = {"Accept-Patch": accepted} if connection.scope.get("method") == "PATCH" else {}
        raise ProblemException(
            415,
            f"The body must be JSON, sent as {accepted}.",
            problem_type="urn:custodian:problem:unsupported-media-type",
            headers=headers,
        )

    return guard


json_body_only = json_body_as("application/json")
"""Route guard: 415 unless the body is declared as `application/json`."""


def _invalid_body(detail: str, field: str, message: str) -> ProblemException:
    return ProblemException(
        400, detail, problem_type=VALIDATION_TYPE, errors=[FieldError(field, message, "body")]
    )


def _too_deep() -> ProblemException:
    return _invalid_body("The request body is nested too deeply.", "body", "is nested too deeply")


class _NamedTwice(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_names_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) < len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _NamedTwice(name)
            seen.add(name)
    return members


def named_twice(body: bytes, value: Any) -> str | None:
    """A member name that some object of `body` (decoded as `value`) gives twice, or None.

    The decoded value has lost the first of two equal names, so the cheap test compares it
    with the body: encoded again it has one colon per member it kept plus the colons inside
    its strings, and the body has the same unless a member was lost (a colon outside a
    string only ever separates a name from its value). A body with a `\\u` escape takes
    the full check (an escaped colon would upset the count), and so does any body the count
    does not clear: the standard library's parser hands each object's members over in order.
    The cheap test costs a microsecond or two for a body of a few members, the full one
    about ten times as much."""
    if b"\\u" not in body and msgspec.json.encode(value).count(b":") == body.count(b":"):
        return None
    try:
        # Only the names matter: numbers are left as text.
        json.loads(
            body,
            object_pairs_hook=_refuse_names_twice,
            parse_int=str,
            parse_float=str,
            parse_constant=str,
        )
    except _NamedTwice as found:
        return found.name
    except RecursionError:
        raise _too_deep() from None
    return None


def decoded_json(body: bytes) -> Any:
    """`body` decoded as JSON, or a 400 problem: the body is not JSON, or an object in it
    names a member twice (which one the client meant cannot be known)."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise _invalid_body(
            "The request body is not valid JSON.", "body", "is not valid JSON"
        ) from None
    except RecursionError:
        raise _too_deep() from None
    name = named_twice(body, value)
    if name is not None:
        # The name as the client wrote it, cut short: a name may be as long as the body.
        shown = name if len(name) <= 64 else name[:64] + "..."
        raise _invalid_body(
            f"The request body is ambiguous: duplicate member {json.dumps(shown)}.",
            shown,
            "duplicate member: an object gives this name more than once",
        )
    return value


async def refuse_an_empty_body(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: a handler that takes a JSON body (`data`) and is sent none is
    a 400 that says so. Litestar would pass no `data` at all and report the missing
    argument as the text of a KeyError (`'data'`), which tells the client nothing."""
    wanted = request.route_handler.parsed_fn_signature.parameters.get("data")
    if wanted is None or wanted.is_optional:
        return
    if not (await request.body()).strip():
        raise _invalid_body(
            "The request body is empty; a JSON object is expected.",
            "body",
            "is empty; a JSON object is expected",
        )


class JsonBodyRequest(Request[Any, Any, Any]):
    """The application's request class: the JSON body Litestar decodes for a handler's
    `data` goes through `decoded_json`, so every JSON body meets the same rules."""

    async def json(self) -> Any:
        """The body decoded by `decoded_json` (once per request, as Litestar caches it)."""
        state = self._connection_state
        if state.json is Empty:
            state.json = decoded_json(await self.body())
        return await super().json()


async def strict_body(request: Request[Any, Any, Any], shape: type[T]) -> T:
    """The body decoded as `shape` with no type coercion: Litestar converts bodies leniently
    (0 becomes false, "5" becomes 5), the document promises exact types. A string or a
    number where a boolean belongs is a 400 naming the member, like every other invalid
    body."""
    raw = decoded_json(await request.body())
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
