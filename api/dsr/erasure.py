"""POST /v1/me/erasure, GET and DELETE /v1/me/erasure/{id}: erase my data (Art. 17),
deliberately: a recent sign-in, a typed confirmation, a grace period I can cancel in."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath

from api.dsr import TAG
from api.dsr.controllers import DsrUnits
from api.dsr.dtos import Erasure, ErasureConfirmation, erasure_out
from api.request_bodies import json_body_only, strict_body
from api.routes import customer_access, guarded, problems
from api.settings import Settings
from domain.clock import Clock
from domain.dsr.deliberate_erasure import ErasurePolicy, ask_for_erasure, cancel_erasure
from domain.dsr.erasure import read_erasure
from domain.identity import ERASE_SCOPE, Caller

# The document says exactly what is accepted: the one phrase, nothing else.
ERASURE_BODY: dict[str, Any] = {
    "additionalProperties": False,
    "required": ["confirmation"],
    "properties": {"confirmation": {"type": "string", "const": "erase my data"}},
}


def policy_of(settings: Settings) -> ErasurePolicy:
    """The erasure policy the operator configured."""
    return ErasurePolicy(
        reauth=timedelta(seconds=settings.erasure_reauth_seconds),
        grace=timedelta(days=settings.erasure_grace_days),
    )


class ErasureRequests(Controller):
    """The customer's erasure request: asking, following it, cancelling it. Once it has run
    the customer has no sign-in left; its report is the officer's to read."""

    path = "/v1/me/erasure"

    @post(
        "/",
        operation_id="requestMyErasure",
        status_code=202,
        summary="Erase my data, after a grace period in which I can cancel",
        description=(
            "Needs the `dsr:erase` scope (asked for separately), a sign-in within "
            "CUSTODIAN_ERASURE_REAUTH_SECONDS (the token's `auth_time`; default 300 s) and "
            'the body `{"confirmation": "erase my data"}`. The erasure then waits for the '
            "grace period (CUSTODIAN_ERASURE_GRACE_DAYS, default 7; `erase_after`), during "
            "which processing is restricted (no marketing, no analytics) and `DELETE` "
            "cancels it. Then contact data and interactions are destroyed, sign-in "
            "credentials included; financial records are kept, restricted, for the legal "
            "retention period (7 years after the last account closed, "
            "CUSTODIAN_FINANCIAL_RETENTION_YEARS); the consent ledger, the audit log and the "
            "request are kept with pseudonymous ids. Every grant is revoked, so the customer "
            "can follow the request (`GET`) only until it runs; its report is kept for the "
            "privacy officer (`GET /v1/privacy/requests/{id}`)."
        ),
        responses={
            200: ResponseSpec(
                Erasure, description="An erasure is already pending or running: that one"
            ),
            **problems(
                400,
                409,
                415,
                422,
                worded={
                    401: (
                        "Missing, invalid or expired token, or the sign-in is not recent "
                        'enough: `WWW-Authenticate: Bearer error="insufficient_user_'
                        'authentication", max_age=N` (RFC 9470). Sign in again (authorize '
                        "with `prompt=login` or `max_age`) and retry."
                    ),
                    422: 'The confirmation is missing or is not the phrase "erase my data"',
                },
            ),
        },
        response_headers=[
            ResponseHeader(
                name="Location",
                description="Where to follow the erasure (GET, or DELETE to cancel), on 202 "
                "and 200 alike.",
                documentation_only=True,
            )
        ],
        guards=[json_body_only],
        **guarded(ERASE_SCOPE, "erasure.request", "dsr_request", tag=TAG),
    )
    async def create(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
        data: Annotated[ErasureConfirmation, Body(schema_extra=ERASURE_BODY)],
    ) -> Response[Erasure]:
        """202 with the pending request; 200 with the one pending or running already."""
        confirmation = (await strict_body(request, ErasureConfirmation)).confirmation
        erasure, created = await ask_for_erasure(
            dsr_units,
            clock,
            customer_access(caller, request),
            auth_time=caller.auth_time,
            confirmation=confirmation,
            policy=policy_of(settings),
        )
        return Response(
            erasure_out(erasure),
            status_code=202 if created else 200,
            headers={"Location": f"/v1/me/erasure/{erasure.id}"},
        )

    @get(
        "/{erasure_id:str}",
        operation_id="getMyErasure",
        summary="My erasure request, while it is pending or running",
        description=(
            "Where the erasure stands: `status`, `erase_after` (until then `DELETE` cancels) "
            "and `due_at`. When it has run, every token of the customer is refused and "
            "signing in is no longer possible (401): the customer cannot read the erasure's "
            "`report` here (it is null until the erasure has run). The report is kept with "
            "the request for the privacy officer (`GET /v1/privacy/requests/{id}`)."
        ),
        responses=problems(404),
        **guarded(ERASE_SCOPE, "erasure.read", "dsr_request", tag=TAG),
    )
    async def read(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        erasure_id: FromPath[str],
    ) -> Erasure:
        """The caller's erasure request with this id."""
        found = await read_erasure(dsr_units, customer_access(caller, request), erasure_id)
        return erasure_out(found)

    @delete(
        "/{erasure_id:str}",
        operation_id="cancelMyErasure",
        status_code=200,
        summary="Cancel my erasure during its grace period",
        description=(
            "Until `erase_after` the erasure can be cancelled: the status becomes "
            "`cancelled` and processing returns to what it was before. 409 once it has "
            "started or ended."
        ),
        responses=problems(404, 409),
        **guarded(ERASE_SCOPE, "erasure.cancel", "dsr_request", tag=TAG),
    )
    async def cancel(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        erasure_id: FromPath[str],
    ) -> Erasure:
        """The cancelled request."""
        cancelled = await cancel_erasure(
            dsr_units, clock, customer_access(caller, request), erasure_id
        )
        return erasure_out(cancelled)
