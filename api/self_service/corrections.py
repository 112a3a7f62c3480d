"""Correction requests: the customer asks for data they cannot edit to be corrected and
follows their requests; the privacy officer reads what was asked and applies or rejects
it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, QueryParameter

from api.middleware import request_id_of
from api.request_bodies import json_body_only
from api.routes import Cursor, Limit, customer_access, guarded, problems
from api.self_service import TAG
from api.self_service.dtos import (
    Correction,
    CorrectionDecision,
    CorrectionPage,
    CorrectionRequest,
    ReceivedCorrectionPage,
    correction_out,
    received_out,
)
from domain.clock import Clock
from domain.customer.corrections import Decision, TargetType
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT
from domain.ports import UnitOfWork
from domain.self_service.corrections import (
    CorrectionAsk,
    decide_correction,
    list_corrections,
    list_received_corrections,
    read_correction,
    submit_correction,
)

Uow = NamedDependency[Callable[[], UnitOfWork]]
# The bodies refuse unknown members (forbid_unknown_fields); the document must say so.
CLOSED: dict[str, Any] = {"additionalProperties": False}


class MyCorrections(Controller):
    """The caller's correction requests."""

    path = "/v1/me/corrections"

    @post(
        "/",
        operation_id="createMyCorrection",
        status_code=201,
        summary="Ask for a correction of data I cannot edit myself",
        responses=problems(400, 404, 409, 415, 422),
        response_headers=[
            ResponseHeader(
                name="Location",
                description="The new correction request (GET).",
                documentation_only=True,
            )
        ],
        guards=[json_body_only],
        **guarded("corrections:write", "correction.create", "correction", tag=TAG),
    )
    async def create_correction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        clock: NamedDependency[Clock],
        data: Annotated[CorrectionRequest, Body(schema_extra=CLOSED)],
    ) -> Response[Correction]:
        """The request as recorded, due one month after receipt."""
        target = data.target
        ask = CorrectionAsk(
            target_type=TargetType(str(type(target).__struct_config__.tag)),
            target_id=target.id,
            field=target.field,
            requested_value=data.requested_value,
            reason=data.reason,
        )
        created = await submit_correction(uow_factory, clock, customer_access(caller, request), ask)
        return Response(
            correction_out(created),
            status_code=201,
            headers={"Location": f"/v1/me/corrections/{created.id}"},
        )

    @get(
        "/",
        operation_id="listMyCorrections",
        summary="My correction requests, newest first",
        responses=problems(400),
        **guarded("corrections:write", "correction.list", "correction", tag=TAG),
    )
    async def get_corrections(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> CorrectionPage:
        """One page of the caller's requests with their status and outcome."""
        page = await list_corrections(
            uow_factory, customer_access(caller, request), limit=limit, cursor=cursor
        )
        return CorrectionPage([correction_out(r) for r in page.items], page.next_cursor)

    @get(
        "/{correction_id:str}",
        operation_id="getMyCorrection",
        summary="One of my correction requests",
        responses=problems(404),
        **guarded("corrections:write", "correction.read", "correction", tag=TAG),
    )
    async def get_correction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        correction_id: FromPath[str],
    ) -> Correction:
        """The request, its status and, once decided, the outcome."""
        found = await read_correction(uow_factory, customer_access(caller, request), correction_id)
        return correction_out(found)


class CorrectionDecisions(Controller):
    """The privacy officer's view of correction requests, and the decisions on them."""

    path = "/v1/privacy/corrections"

    @get(
        "/",
        operation_id="listReceivedCorrections",
        summary="Customers' correction requests with what each asked, newest first (privacy "
        "officer)",
        description=(
            "Each request with the record and field it names, the value when asked, the "
            "value wanted and the customer's reason, so the officer decides knowing what "
            "was asked. Requests of erased customers are not listed (their texts are "
            "destroyed). Every request shown is audited as a `correction.read` of its "
            "customer (purpose `rights_fulfilment`), which their access log shows."
        ),
        responses=problems(400),
        **guarded("dsr:admin", "correction.read", "correction", tag=TAG),
    )
    async def list_received(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        pending: Annotated[
            bool | None,
            QueryParameter(
                description="true: only requests awaiting a decision; false: only decided ones."
            ),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ReceivedCorrectionPage:
        """One page of every customer's requests, each with whose it is."""
        page = await list_received_corrections(
            uow_factory,
            caller.as_actor(),
            pending=pending,
            limit=limit,
            cursor=cursor,
            request_id=request_id_of(request.scope),
        )
        return ReceivedCorrectionPage([received_out(r) for r in page.items], page.next_cursor)

    @post(
        "/{correction_id:str}/decision",
        operation_id="decideCorrection",
        status_code=200,
        summary="Apply or reject a correction request (privacy officer)",
        responses=problems(400, 404, 409, 422),
        **guarded("dsr:admin", "correction.decide", "correction", tag=TAG),
    )
    async def decide(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        clock: NamedDependency[Clock],
        correction_id: FromPath[str],
        data: Annotated[CorrectionDecision, Body(schema_extra=CLOSED)],
    ) -> Correction:
        """Applying changes the record and keeps the replaced value on the request."""
        decided = await decide_correction(
            uow_factory,
            clock,
            caller.as_actor(),
            correction_id,
            decision=Decision(data.decision),
            reason=data.reason,
            http_request_id=request_id_of(request.scope),
        )
        return correction_out(decided)
