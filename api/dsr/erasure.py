"""POST /v1/me/erasure and GET /v1/me/erasure/{id}: erase my data (Art. 17) and the report."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from api.dsr import TAG
from api.dsr.controllers import DsrUnits
from api.dsr.dtos import ErasureOut, erasure_out
from api.routes import customer_access, guarded, problems
from domain.clock import Clock
from domain.dsr.erasure import read_erasure, request_erasure
from domain.identity import Caller


class ErasureRequests(Controller):
    """The customer's erasure request and its report."""

    path = "/v1/me/erasure"

    @post(
        "/",
        operation_id="requestMyErasure",
        status_code=202,
        summary="Erase my data (runs in the background; I am signed out everywhere)",
        responses={
            200: ResponseSpec(
                ErasureOut, description=("An erasure is already in progress: that one is returned")
            ),
            **problems(),
        },
        **guarded("dsr:write", "erasure.request", "dsr_request", tag=TAG),
    )
    async def create(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        clock: NamedDependency[Clock],
    ) -> Response[ErasureOut]:
        """202 with the queued request; 200 with the one in progress when there is one."""
        erasure, created = await request_erasure(dsr_units, clock, customer_access(caller, request))
        return Response(erasure_out(erasure), status_code=202 if created else 200)

    @get(
        "/{erasure_id:str}",
        operation_id="getMyErasure",
        summary="My erasure request and its report (destroyed, kept, why, until when)",
        responses=problems(404),
        **guarded("dsr:write", "erasure.read", "dsr_request", tag=TAG),
    )
    async def read(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        dsr_units: DsrUnits,
        erasure_id: FromPath[str],
    ) -> ErasureOut:
        """The caller's erasure request with this id."""
        found = await read_erasure(dsr_units, customer_access(caller, request), erasure_id)
        return erasure_out(found)
