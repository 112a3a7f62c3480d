"""PUT /v1/me/restriction: restrict or lift processing (Art. 18), object to direct marketing
(Art. 21)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, put
from litestar.di import NamedDependency
from litestar.params import Body

from api.dsr import TAG
from api.dsr.controllers import DsrUnits
from api.dsr.dtos import Restriction, RestrictionUpdate
from api.request_bodies import strict_body
from api.routes import customer_access, guarded, problems
from domain.clock import Clock
from domain.consent.change import ConsentUnitOfWork
from domain.dsr.restriction import RestrictionGround, set_restriction
from domain.identity import Caller

CLOSED: dict[str, Any] = {"additionalProperties": False}


class ProcessingRestriction(Controller):
    """The customer's restriction of processing and objection to direct marketing."""

    path = "/v1/me/restriction"

    @put(
        "/",
        operation_id="setMyRestriction",
        summary="Restrict or lift processing of my data; object to direct marketing",
        responses=problems(400, 404, 409),
        **guarded("dsr:write", "restriction.set", "customer", tag=TAG),
    )
    async def set(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        consent_units: NamedDependency[Callable[[], ConsentUnitOfWork]],
        clock: NamedDependency[Clock],
        data: Annotated[RestrictionUpdate, Body(schema_extra=CLOSED)],
    ) -> Restriction:
        """While restricted, data is only stored: no analytics, no marketing contact,
        support reads only for a legal claim."""
        data = await strict_body(request, RestrictionUpdate)
        state = await set_restriction(
            dsr_units,
            clock,
            customer_access(caller, request),
            restricted=data.restricted,
            ground=None if data.reason is None else RestrictionGround(data.reason),
            object_to_marketing=data.object_to_direct_marketing,
            consent_units=consent_units,
        )
        return Restriction(
            restricted=state.restricted,
            status=state.status.value,
            withdrawn_purposes=list(state.withdrawn),
        )
