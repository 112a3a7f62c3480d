"""The privacy officer's queue (scope dsr:admin): every data-subject request with overdue
ones flagged, one request with its timeline, the single extension, and exports taken by
letter or phone. Every call is audited with the purpose `rights_fulfilment`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, HeaderParameter, QueryParameter

from api.dsr.controllers import Uow, dsr_units, problems, strict_body
from api.dsr.dtos import (
    ExportOut,
    ExtensionIn,
    RequestDetailOut,
    RequestOut,
    RequestPage,
    detail_out,
    export_out,
    request_out,
)
from api.middleware import request_id_of
from api.oauth.services import OAuthServices
from domain.dsr.queue import extend_request, list_requests, officer_export, read_request
from domain.dsr.requests import RequestFilter, RequestStatus, RequestType
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT

TAG = "data-subject-requests"
CLOSED: dict[str, Any] = {"additionalProperties": False}
_SCOPE = "dsr:admin"
_OFFICER_PROBLEMS = {
    **problems(400),
    404: ResponseSpec(
        problems(404)[404].data_container,
        description=("No such request or customer"),
        media_type="application/problem+json",
        generate_examples=False,
    ),
}


def officer(action: str, resource_type: str = "dsr_request") -> dict[str, Any]:
    """Route keywords for a dsr:admin route."""
    return {
        "opt": {"scopes": (_SCOPE,), "audit": (action, resource_type)},
        "security": [{"oauth2": [_SCOPE]}],
        "tags": [TAG],
    }


class PrivacyRequests(Controller):
    """The officer's view of data-subject requests."""

    path = "/v1/privacy"

    @get(
        "/requests",
        operation_id="listDataSubjectRequests",
        summary="The data-subject request queue (filter by type, status, overdue)",
        responses=problems(400),
        **officer("dsr_request.list"),
    )
    async def list_queue(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        type_: Annotated[
            Literal["export", "erasure", "restriction", "objection"] | None,
            QueryParameter(name="type", description="Only this kind."),
        ] = None,
        status: Annotated[
            Literal["queued", "running", "ready", "completed", "failed", "expired"] | None,
            QueryParameter(description="Only this status."),
        ] = None,
        overdue: Annotated[
            bool | None,
            QueryParameter(
                description="true: only requests in progress past their due date; false: the "
                "others."
            ),
        ] = None,
        limit: Annotated[
            int,
            QueryParameter(
                ge=1,
                le=MAX_LIMIT,
                description=(
                    f"How many items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."
                ),
            ),
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            QueryParameter(
                max_length=512,
                description=("The `next_cursor` of the previous page; omit for the first page."),
            ),
        ] = None,
    ) -> RequestPage:
        """Newest received first; each entry says whether it is overdue or was extended."""
        filters = RequestFilter(
            type=None if type_ is None else RequestType(type_),
            status=None if status is None else RequestStatus(status),
            overdue=overdue,
        )
        page = await list_requests(
            dsr_units(uow_factory),
            oauth.clock,
            caller.as_actor(),
            filters,
            limit=limit,
            cursor=cursor,
            request_id=request_id_of(request.scope),
        )
        now = oauth.clock.now()
        return RequestPage([request_out(r, now) for r in page.items], page.next_cursor)

    @get(
        "/requests/{request_id:str}",
        operation_id="getDataSubjectRequest",
        summary="One data-subject request with the timeline of its events",
        responses=_OFFICER_PROBLEMS,
        **officer("dsr_request.read"),
    )
    async def read(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        request_id: FromPath[str],
    ) -> RequestDetailOut:
        """The request, its report and extension, and who did what when."""
        detail = await read_request(
            dsr_units(uow_factory),
            caller.as_actor(),
            request_id,
            request_id=request_id_of(request.scope),
        )
        return detail_out(detail, oauth.clock.now())

    @post(
        "/requests/{request_id:str}/extension",
        operation_id="extendDataSubjectRequest",
        status_code=200,
        summary="Extend a request's due date once, by up to two months",
        responses={**_OFFICER_PROBLEMS, **problems(409)},
        **officer("dsr_request.extend"),
    )
    async def extend(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
        request_id: FromPath[str],
        data: Annotated[ExtensionIn, Body(schema_extra=CLOSED)],
    ) -> RequestOut:
        """The request with its new due date; 409 when already extended or finished."""
        data = await strict_body(request, data)
        extended = await extend_request(
            dsr_units(uow_factory),
            oauth.clock,
            caller.as_actor(),
            request_id,
            extension=timedelta(days=data.days),
            reason=data.reason,
            request_id=request_id_of(request.scope),
        )
        return request_out(extended, oauth.clock.now())

    @post(
        "/customers/{customer_id:str}/exports",
        operation_id="createCustomerExport",
        status_code=202,
        summary="Export a customer's data for a request received by letter or phone",
        responses={
            200: ResponseSpec(
                ExportOut,
                description=(
                    "An export of this customer is already being prepared: that one is returned"
                ),
            ),
            **_OFFICER_PROBLEMS,
        },
        **officer("export.request", "customer"),
    )
    async def export(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        oauth: NamedDependency[OAuthServices],
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
    ) -> Response[ExportOut]:
        """202 with the queued export (audited as `rights_fulfilment`, or as `legal_claim`
        with its ticket for a restricted or erased customer)."""
        export, created = await officer_export(
            dsr_units(uow_factory),
            oauth.clock,
            caller.as_actor(),
            customer_id,
            request_id=request_id_of(request.scope),
            purpose=access_purpose,
            ticket=ticket,
        )
        return Response(export_out(export, oauth.clock.now()), status_code=202 if created else 200)
