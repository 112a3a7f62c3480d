"""My profile: read it (with its ETag), correct it (JSON merge patch with If-Match), and
its history. Every call is audited before the answer is sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import Body, HeaderParameter

from api.request_bodies import json_body_as
from api.routes import Cursor, Limit, customer_access, guarded, problems
from api.self_service import TAG
from api.self_service.dtos import Profile, ProfileHistoryPage, change_out, profile_out
from api.settings import Settings
from domain.clock import Clock
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT
from domain.ports import UnitOfWork
from domain.reference_data import COUNTRY_CODES
from domain.self_service.correct_profile import correct_profile, etag_of
from domain.self_service.read_profile import read_profile, read_profile_history
from domain.values import LINE_CHARACTERS_PATTERN

Uow = NamedDependency[Callable[[], UnitOfWork]]
ETAG_HEADER = ResponseHeader(
    name="ETag", description="The profile version, quoted.", documentation_only=True
)
MERGE_PATCH = "application/merge-patch+json"
# The bodies refuse unknown members (forbid_unknown_fields); the document must say so.
CLOSED: dict[str, Any] = {"additionalProperties": False}
# Names and address lines are stored stripped, so a value needs one non-blank character;
# and no character a line of text never holds (controls, separators, bidirectional
# overrides: LINE_CHARACTERS_PATTERN). Optional address lines may be blank.
_NOT_IN_LINE = LINE_CHARACTERS_PATTERN[1:-1]
_NAME = rf"^[^{_NOT_IN_LINE}]*[^\s\ufeff{_NOT_IN_LINE}][^{_NOT_IN_LINE}]*$"
_ANY_LINE = rf"^[^{_NOT_IN_LINE}]*$"


def _line(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": _NAME}


def _optional_line(max_length: int) -> dict[str, Any]:
    line = {"type": "string", "maxLength": max_length, "pattern": _ANY_LINE}
    return {"oneOf": [line, {"type": "null"}]}


_TEXT = _line(100)

_NULLABLE_TEXT: dict[str, Any] = {"oneOf": [_TEXT, {"type": "null"}]}
PROFILE_PATCH_SCHEMA: dict[str, Any] = {
    "title": "ProfilePatch",
    "description": (
        "A JSON merge patch (RFC 7396) of the editable fields; `null` removes an "
        "optional field. Any other member is refused with 422."
    ),
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "given_name": _TEXT,
        "family_name": _TEXT,
        "preferred_name": _NULLABLE_TEXT,
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "phone": {
            "oneOf": [{"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"}, {"type": "null"}]
        },
        "address": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "line1": _line(200),
                        "line2": _optional_line(200),
                        "city": _line(100),
                        "region": _optional_line(100),
                        "postal_code": _line(20),
                        "country": {"type": "string", "enum": sorted(COUNTRY_CODES)},
                    },
                },
            ]
        },
        "date_of_birth": {"oneOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
        "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
    },
}


class MyProfile(Controller):
    """The caller's own profile."""

    path = "/v1/me/profile"

    @get(
        "/",
        operation_id="getMyProfile",
        summary="My profile (with its ETag)",
        responses=problems(404),
        response_headers=[ETAG_HEADER],
        **guarded("profile:read", "profile.read", "profile", tag=TAG),
    )
    async def get_profile(
        self, *, caller: NamedDependency[Caller], request: Request[Any, Any, Any], uow_factory: Uow
    ) -> Response[Profile]:
        """The caller's profile; the ETag is what PATCH needs in If-Match."""
        profile = await read_profile(uow_factory, customer_access(caller, request))
        return Response(profile_out(profile), headers={"ETag": etag_of(profile)})

    @patch(
        "/",
        operation_id="updateMyProfile",
        summary="Correct my profile (JSON merge patch, If-Match required)",
        description=(
            "Apply the patch if If-Match is current; the answer carries the new ETag. "
            "Changing `email`, the address the customer signs in with, also needs a sign-in "
            "within CUSTODIAN_ERASURE_REAUTH_SECONDS (the token's `auth_time`; default "
            "300 s), checked before the address is compared with other customers': an "
            "older sign-in is a 401 and nothing is changed. With a recent sign-in, an "
            "address another customer signs in with is a 409."
        ),
        responses=problems(
            400,
            404,
            409,
            412,
            415,
            422,
            428,
            worded={
                401: (
                    "Missing, invalid, expired or revoked access token; or `email` changes "
                    "and the sign-in is not recent enough: `WWW-Authenticate: Bearer "
                    'error="insufficient_user_authentication", max_age=N` (RFC 9470). Sign '
                    "in again (authorize with `prompt=login` or `max_age`) and retry."
                ),
                409: "The new email is another customer's (only after a recent sign-in)",
                428: "If-Match is required, and must name an ETag (`*` is refused)",
            },
        ),
        response_headers=[ETAG_HEADER],
        guards=[json_body_as(MERGE_PATCH, "application/json")],
        **guarded("profile:write", "profile.update", "profile", tag=TAG),
    )
    async def update_profile(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
        data: Annotated[
            dict[str, Any], Body(media_type=MERGE_PATCH, schema_extra=PROFILE_PATCH_SCHEMA)
        ],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                description=(
                    "The ETag of the profile the change is based on; `*` is refused (428), "
                    "since it would skip the lost-update check."
                ),
            ),
        ] = None,
    ) -> Response[Profile]:
        """Apply the patch if If-Match is current; the answer carries the new ETag."""
        profile = await correct_profile(
            uow_factory,
            clock,
            customer_access(caller, request),
            if_match=if_match,
            patch=data,
            auth_time=caller.auth_time,
            reauth=timedelta(seconds=settings.erasure_reauth_seconds),
        )
        return Response(profile_out(profile), headers={"ETag": etag_of(profile)})

    @get(
        "/history",
        operation_id="listMyProfileHistory",
        summary="The changes made to my profile, newest first",
        responses=problems(400),
        **guarded("profile:read", "profile.history.read", "profile", tag=TAG),
    )
    async def get_history(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ProfileHistoryPage:
        """Each changed field: version, old and new value, who (customer or staff), when."""
        page = await read_profile_history(
            uow_factory, customer_access(caller, request), limit=limit, cursor=cursor
        )
        return ProfileHistoryPage([change_out(c) for c in page.items], page.next_cursor)
