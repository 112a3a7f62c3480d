"""The privacy officer's queue (scope dsr:admin): every data-subject request with overdue
ones flagged, one request with its timeline, the single extension, and exports taken by
letter or phone. Every call is audited with the purpose `rights_fulfilment`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, HeaderParameter, QueryParameter

from api.dsr import TAG
from api.dsr.controllers import DsrUnits
from api.dsr.dtos import (
    DataSubjectRequest,
    DataSubjectRequestDetail,
    DataSubjectRequestPage,
    DeadlineExtension,
    Export,
    detail_out,
    export_out,
    request_out,
)
from api.middleware import request_id_of
from api.request_bodies import strict_body
from api.routes import Cursor, Limit, guarded, problems
from domain.clock import Clock
from domain.dsr.queue import extend_request, list_requests, officer_export, read_request
from domain.dsr.requests import RequestFilter, RequestStatus, RequestType
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT

CLOSED: dict[str, Any] = {"additionalProperties": False}
_OFFICER_PROBLEMS = problems(400, 404, worded={404: "No such request or customer"})


class PrivacyRequests(Controller):
    """The officer's view of data-subject requests."""

    path = "/v1/privacy"

    @get(
        "/requests",
        operation_id="listDataSubjectRequests",
        summary="The data-subject request queue (filter by type, status, overdue)",
        responses=problems(400),
        **guarded("dsr:admin", "dsr_request.list", "dsr_request", tag=TAG),
    )
    async def list_queue(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        type_: Annotated[
            Literal["export", "erasure", "restriction", "objection"] | None,
            QueryParameter(name="type", description="Only this kind."),
        ] = None,
        status: Annotated[
            Literal["queued", "running", "ready", "completed", "failed", "expired", "cancelled"]
            | None,
            QueryParameter(description="Only this status."),
        ] = None,
        overdue: Annotated[
            bool | None,
            QueryParameter(
                description="true: only requests in progress past their due date; false: the "
                "others."
            ),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> DataSubjectRequestPage:
        """Newest received first; each entry says whether it is overdue or was extended."""
        filters = RequestFilter(
            type=None if type_ is None else RequestType(type_),
            status=None if status is None else RequestStatus(status),
            overdue=overdue,
        )
        page = await list_requests(
            dsr_units,
            clock,
            caller.as_actor(),
            filters,
            limit=limit,
            cursor=cursor,
            request_id=request_id_of(request.scope),
        )
        now = clock.now()
        return DataSubjectRequestPage([request_out(r, now) for r in page.items], page.next_cursor)

    @get(
        "/requests/{request_id:str}",
        operation_id="getDataSubjectRequest",
        summary="One data-subject request with the timeline of its events",
        responses=_OFFICER_PROBLEMS,
        **guarded("dsr:admin", "dsr_request.read", "dsr_request", tag=TAG),
    )
    async def read(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        request_id: FromPath[str],
    ) -> DataSubjectRequestDetail:
        """The request, its report and extension, and who did what when."""
        detail = await read_request(
            dsr_units,
            caller.as_actor(),
            request_id,
            request_id=request_id_of(request.scope),
        )
        return detail_out(detail, clock.now())

    @post(
        "/requests/{request_id:str}/extension",
        operation_id="extendDataSubjectRequest",
        status_code=200,
        summary="Extend a request's due date once, by up to two months",
        responses={
            **_OFFICER_PROBLEMS,
            **problems(
                409,
                422,
                worded={422: "The new due date would be more than three months after receipt"},
            ),
        },
        **guarded("dsr:admin", "dsr_request.extend", "dsr_request", tag=TAG),
    )
    async def extend(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        request_id: FromPath[str],
        data: Annotated[DeadlineExtension, Body(schema_extra=CLOSED)],
    ) -> DataSubjectRequest:
        """The request with its new due date; 409 when already extended or finished, 422
        when the date would pass three months from receipt."""
        data = await strict_body(request, DeadlineExtension)
        extended = await extend_request(
            dsr_units,
            clock,
            caller.as_actor(),
            request_id,
            extension=timedelta(days=data.days),
            reason=data.reason,
            request_id=request_id_of(request.scope),
        )
        return request_out(extended, clock.now())

    @post(
        "/customers/{customer_id:str}/exports",
        operation_id="createCustomerExport",
        status_code=202,
        summary="Export a customer's data for a request received by letter or phone",
        responses={
            200: ResponseSpec(
                Export,
                description=(
                    "An export of this customer is already being prepared: that one is returned"
                ),
            ),
            **_OFFICER_PROBLEMS,
        },
        response_headers=[
            ResponseHeader(
                name="Location",
                description="Where to follow the request in the queue (GET).",
                documentation_only=True,
            )
        ],
        **guarded("dsr:admin", "export.request", "customer", tag=TAG),
    )
    async def export(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
        customer_id: FromPath[str],
        access_purpose: Annotated[
            str | None,
            HeaderParameter(
                name="X-Access-Purpose",
                max_length=40,
                description=(
                    "Required (`legal_claim`) when the customer restricted processing or "
                    "was erased: their data is then held for legal claims only."
                ),
            ),
        ] = None,
        ticket: Annotated[
            str | None,
            HeaderParameter(
                name="X-Ticket",
                max_length=32,
                description="The legal-claim ticket (with X-Access-Purpose: legal_claim).",
            ),
        ] = None,
    ) -> Response[Export]:
        """202 with the queued export (audited as `rights_fulfilment`, or as `legal_claim`
        with its ticket for a restricted or erased customer)."""
        export, created = await officer_export(
            dsr_units,
            clock,
            caller.as_actor(),
            customer_id,
            request_id=request_id_of(request.scope),
            purpose=access_purpose,
            ticket=ticket,
        )
        return Response(
            export_out(export, clock.now()),
            status_code=202 if created else 200,
            headers={"Location": f"/v1/privacy/requests/{export.id}"},
        )
