"""POST/GET /v1/privacy/access-grants: the officer approves break-glass access for a support
agent to a customer whose processing is restricted or whose data was erased."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Body

from api.middleware import request_id_of
from api.request_bodies import json_body_only, strict_body
from api.routes import guarded, problems
from api.support.controllers import SUPPORT_TAG
from domain.clock import Clock
from domain.identity import Caller
from domain.support.grants import AccessGrant as DomainAccessGrant
from domain.support.grants import GrantUnitOfWork, active_grants, grant_access

CLOSED: dict[str, Any] = {"additionalProperties": False}


class AccessGrantRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Which agent (staff id) may read which customer, for which ticket, for how many hours
    (1 to 72)."""

    customer_id: UUID
    staff_id: UUID
    ticket: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
    hours: Annotated[int, msgspec.Meta(ge=1, le=72)]


class AccessGrant(msgspec.Struct):
    """An approved access grant."""

    id: str
    customer_id: str
    staff_id: str
    ticket: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime


class AccessGrantList(msgspec.Struct):
    """Every grant still running, soonest to expire first."""

    items: list[AccessGrant]
    next_cursor: str | None = None


def grant_out(grant: DomainAccessGrant) -> AccessGrant:
    """A grant as sent."""
    return AccessGrant(
        id=str(grant.id),
        customer_id=str(grant.customer_id),
        staff_id=str(grant.staff_id),
        ticket=grant.ticket,
        granted_by=str(grant.granted_by),
        granted_at=grant.granted_at,
        expires_at=grant.expires_at,
    )


class AccessGrants(Controller):
    """Break-glass access grants, approved by a privacy officer."""

    path = "/v1/privacy/access-grants"

    @post(
        "/",
        operation_id="createAccessGrant",
        status_code=201,
        summary="Approve a support agent's time-boxed access to a held customer (break-glass)",
        responses=problems(400, 404, 415),
        guards=[json_body_only],
        **guarded("dsr:admin", "access_grant.create", "access_grant", tag=SUPPORT_TAG),
    )
    async def create(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        grant_units: NamedDependency[Callable[[], GrantUnitOfWork]],
        clock: NamedDependency[Clock],
        data: Annotated[AccessGrantRequest, Body(schema_extra=CLOSED)],
    ) -> AccessGrant:
        """The grant, audited against the customer (it shows in their access log)."""
        # JSON Schema counts 2.0 as an integer: the DSR decoder accepts it, strictly otherwise.
        asked = await strict_body(request, AccessGrantRequest)
        grant = await grant_access(
            grant_units,
            clock,
            caller.as_actor(),
            customer_text=str(asked.customer_id),
            staff_text=str(asked.staff_id),
            ticket=asked.ticket,
            hours=asked.hours,
            request_id=request_id_of(request.scope),
        )
        return grant_out(grant)

    @get(
        "/",
        operation_id="listAccessGrants",
        summary="Access grants still running (the officer's queue)",
        responses=problems(),
        **guarded("dsr:admin", "access_grant.list", "access_grant", tag=SUPPORT_TAG),
    )
    async def list_active(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        grant_units: NamedDependency[Callable[[], GrantUnitOfWork]],
        clock: NamedDependency[Clock],
    ) -> AccessGrantList:
        """Every running grant, soonest to expire first (the read is audited)."""
        grants = await active_grants(
            grant_units, clock, caller.as_actor(), request_id_of(request.scope)
        )
        return AccessGrantList([grant_out(g) for g in grants])
