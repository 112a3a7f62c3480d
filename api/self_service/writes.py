"""Writes: correct my profile, ask for corrections, and the officer's decision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, HeaderParameter, QueryParameter

from api.middleware import request_id_of
from api.oauth.services import OAuthServices
from api.request_bodies import json_body_only
from api.self_service.common import CURSOR_DOC, LIMIT_DOC, customer_access, guarded, problems
from api.self_service.dtos import (
    CorrectionIn,
    CorrectionOut,
    CorrectionPage,
    DecisionIn,
    ProfileOut,
    correction_out,
    profile_out,
)
from api.self_service.reads import ETAG_HEADER
from domain.customer.corrections import Decision, TargetType
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.ports import UnitOfWork
from domain.reference_data import COUNTRY_CODES
from domain.self_service.correct_profile import correct_profile, etag_of
from domain.self_service.corrections import (
    CorrectionAsk,
    decide_correction,
    list_corrections,
    read_correction,
    submit_correction,
)
from domain.self_service.read_profile import read_profile
from domain.values import NAME_CHARACTERS_PATTERN

Uow = NamedDependency[Callable[[], UnitOfWork]]
MERGE_PATCH = "application/merge-patch+json"
# The bodies refuse unknown members (forbid_unknown_fields); the document must say so.
CLOSED: dict[str, Any] = {"additionalProperties": False}
# Names are stored stripped, so a value needs one non-blank character; and no character a
# name never holds (controls, separators, bidirectional overrides: NAME_CHARACTERS_PATTERN).
_NOT_NAME = NAME_CHARACTERS_PATTERN[1:-1]
_NAME = rf"^[^{_NOT_NAME}]*[^\s\ufeff{_NOT_NAME}][^{_NOT_NAME}]*$"
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": _NAME}
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
                        "line1": {"type": "string", "minLength": 1, "maxLength": 200},
                        "line2": {
                            "oneOf": [{"type": "string", "maxLength": 200}, {"type": "null"}]
                        },
                        "city": {"type": "string", "minLength": 1, "maxLength": 100},
                        "region": {
                            "oneOf": [{"type": "string", "maxLength": 100}, {"type": "null"}]
                        },
                        "postal_code": {"type": "string", "minLength": 1, "maxLength": 20},
                        "country": {"type": "string", "enum": sorted(COUNTRY_CODES)},
                    },
                },
            ]
        },
        "date_of_birth": {"oneOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
        "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
    },
}


class SelfServiceWrites(Controller):
    """Changes the caller asks for; each is audited in the same transaction."""

    path = "/v1"

    @get(
        "/me/profile",
        operation_id="getMyProfile",
        summary="My profile (with its ETag)",
        responses=problems(404),
        response_headers=[ETAG_HEADER],
        **guarded("profile:read", "profile.read", "profile"),
    )
    async def get_profile(
        self, *, caller: NamedDependency[Caller], request: Request[Any, Any, Any], uow_factory: Uow
    ) -> Response[ProfileOut]:
        """The caller's profile; the ETag is what PATCH needs in If-Match."""
        profile = await read_profile(uow_factory, customer_access(caller, request))
        return Response(profile_out(profile), headers={"ETag": etag_of(profile)})

    @patch(
        "/me/profile",
        operation_id="updateMyProfile",
        summary="Correct my profile (JSON merge patch, If-Match required)",
        responses=problems(400, 404, 409, 412, 415, 422, 428),
        response_headers=[ETAG_HEADER],
        guards=[json_body_only],
        **guarded("profile:write", "profile.update", "profile"),
    )
    async def update_profile(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
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
    ) -> Response[ProfileOut]:
        """Apply the patch if If-Match is current; the answer carries the new ETag."""
        profile = await correct_profile(
            uow_factory,
            oauth.clock,
            customer_access(caller, request),
            if_match=if_match,
            patch=data,
        )
        return Response(profile_out(profile), headers={"ETag": etag_of(profile)})

    @post(
        "/me/corrections",
        operation_id="createMyCorrection",
        status_code=201,
        summary="Ask for a correction of data I cannot edit myself",
        responses=problems(400, 404, 409, 415, 422),
        guards=[json_body_only],
        **guarded("corrections:write", "correction.create", "correction"),
    )
    async def create_correction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        data: Annotated[CorrectionIn, Body(schema_extra=CLOSED)],
    ) -> CorrectionOut:
        """The request as recorded, due one month after receipt."""
        target = data.target
        ask = CorrectionAsk(
            target_type=TargetType(str(type(target).__struct_config__.tag)),
            target_id=target.id,
            field=target.field,
            requested_value=data.requested_value,
            reason=data.reason,
        )
        created = await submit_correction(
            uow_factory, oauth.clock, customer_access(caller, request), ask
        )
        return correction_out(created)

    @get(
        "/me/corrections",
        operation_id="listMyCorrections",
        summary="My correction requests, newest first",
        responses=problems(400),
        **guarded("corrections:write", "correction.list", "correction"),
    )
    async def get_corrections(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_LIMIT, description=LIMIT_DOC)
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None, QueryParameter(max_length=512, description=CURSOR_DOC)
        ] = None,
    ) -> CorrectionPage:
        """One page of the caller's requests with their status and outcome."""
        page = await list_corrections(
            uow_factory, customer_access(caller, request), limit=limit, cursor=cursor
        )
        return CorrectionPage([correction_out(r) for r in page.items], page.next_cursor)

    @get(
        "/me/corrections/{correction_id:str}",
        operation_id="getMyCorrection",
        summary="One of my correction requests",
        responses=problems(404),
        **guarded("corrections:write", "correction.read", "correction"),
    )
    async def get_correction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        correction_id: FromPath[str],
    ) -> CorrectionOut:
        """The request, its status and, once decided, the outcome."""
        found = await read_correction(uow_factory, customer_access(caller, request), correction_id)
        return correction_out(found)

    @post(
        "/privacy/corrections/{correction_id:str}/decision",
        operation_id="decideCorrection",
        status_code=200,
        summary="Apply or reject a correction request (privacy officer)",
        responses=problems(400, 404, 409, 422),
        **guarded("dsr:admin", "correction.decide", "correction"),
    )
    async def decide(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        correction_id: FromPath[str],
        data: Annotated[DecisionIn, Body(schema_extra=CLOSED)],
    ) -> CorrectionOut:
        """Applying changes the record and keeps the replaced value on the request."""
        decided = await decide_correction(
            uow_factory,
            oauth.clock,
            caller.as_actor(),
            correction_id,
            decision=Decision(data.decision),
            reason=data.reason,
            http_request_id=request_id_of(request.scope),
        )
        return correction_out(decided)
