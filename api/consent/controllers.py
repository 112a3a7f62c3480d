"""GET /v1/me/consents, PUT /v1/me/consents/{purpose}, GET /v1/me/consents/history.

Withdrawing is the same call as granting (GDPR Art. 7(3)). Every change returns a signed
consent receipt; repeating the current state returns the existing receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import Body, FromPath

from api.consent.dtos import (
    ConsentDecision,
    ConsentHistory,
    ConsentList,
    ConsentReceipt,
    consent_receipt,
    consent_status,
)
from api.middleware import request_id_of
from api.request_bodies import json_body_only, strict_body
from api.routes import problems
from domain.consent.change import (
    ConsentUnitOfWork,
    change_consent,
    consent_history,
    list_consents,
)
from domain.identity import Caller

CONSENT_TAG = "consents"

ConsentUnits = Callable[[], ConsentUnitOfWork]
# The body refuses unknown members (forbid_unknown_fields); the document says so.
CLOSED: dict[str, Any] = {"additionalProperties": False}


class ConsentController(Controller):
    """The customer's consents: current state, changes with receipts, history."""

    path = "/v1/me/consents"
    tags = [CONSENT_TAG]

    @get(
        "/",
        operation_id="listMyConsents",
        opt={"scopes": ("consents:read",)},
        security=[{"oauth2": ["consents:read"]}],
        responses=problems(400),
        summary="Every purpose with my current consent and the notice version I agreed to",
    )
    async def list_consents(
        self,
        request: Request[Any, Any, State],
        caller: NamedDependency[Caller],
        consent_units: NamedDependency[ConsentUnits],
    ) -> ConsentList:
        """Every purpose, in catalogue order, with the customer's current decision."""
        states = await list_consents(
            consent_units(), caller.customer_id, caller.as_actor(), request_id_of(request.scope)
        )
        return ConsentList(items=[consent_status(state) for state in states])

    @get(
        "/history",
        operation_id="listMyConsentHistory",
        opt={"scopes": ("consents:read",)},
        security=[{"oauth2": ["consents:read"]}],
        responses=problems(400),
        summary="Every change of my consents, oldest first, with signed receipts",
    )
    async def history(
        self,
        request: Request[Any, Any, State],
        caller: NamedDependency[Caller],
        consent_units: NamedDependency[ConsentUnits],
    ) -> ConsentHistory:
        """The whole ledger of the customer, each entry with its signed receipt."""
        events = await consent_history(
            consent_units(), caller.customer_id, caller.as_actor(), request_id_of(request.scope)
        )
        return ConsentHistory(items=[consent_receipt(event) for event in events])

    @put(
        "/{purpose:str}",
        operation_id="putMyConsent",
        status_code=200,
        opt={"scopes": ("consents:write",)},
        security=[{"oauth2": ["consents:write"]}],
        responses=problems(400, 404, 409, 415, 422),
        summary="Grant or withdraw my consent to a purpose; returns the signed receipt",
        guards=[json_body_only],
    )
    async def put_consent(
        self,
        request: Request[Any, Any, State],
        purpose: FromPath[str],
        data: Annotated[ConsentDecision, Body(schema_extra=CLOSED)],
        caller: NamedDependency[Caller],
        consent_units: NamedDependency[ConsentUnits],
    ) -> ConsentReceipt:
        """Record the decision (or return the existing receipt when nothing changes).

        404 for an unknown purpose, 409 naming the current notice version when another was
        given, 422 when withdrawing from processing needed for the contract. Only a JSON
        boolean decides (`"true"` or `1` is a 400), and unknown members are refused.
        """
        # `data` (converted loosely by the framework) documents the body; the decision is
        # taken from the body decoded strictly.
        decision = await strict_body(request, ConsentDecision)
        change = await change_consent(
            consent_units(),
            caller.customer_id,
            purpose,
            granted=decision.granted,
            notice_version=decision.notice_version,
            actor=caller.as_actor(),
            request_id=request_id_of(request.scope),
        )
        return consent_receipt(change.event)
