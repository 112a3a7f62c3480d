"""My interactions with the organisation, and one interaction. Every call is audited
before the answer is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from api.routes import Cursor, From, Limit, To, customer_access, guarded, parse_time_range, problems
from api.self_service import TAG
from api.self_service.dtos import Interaction, InteractionPage, interaction_out
from domain.customer.interactions import Channel, InteractionKind
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT
from domain.ports import UnitOfWork
from domain.self_service.read_interactions import (
    InteractionFilter,
    list_interactions,
    read_interaction,
)

Uow = NamedDependency[Callable[[], UnitOfWork]]


class MyInteractions(Controller):
    """The caller's interactions."""

    path = "/v1/me/interactions"

    @get(
        "/",
        operation_id="listMyInteractions",
        summary="My interactions with the organisation, newest first",
        responses=problems(400, 422),
        **guarded("interactions:read", "interaction.list", "interaction", tag=TAG),
    )
    async def get_interactions(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        channel: FromQuery[Channel | None] = None,
        kind: FromQuery[InteractionKind | None] = None,
        occurred_from: From = None,
        occurred_to: To = None,
    ) -> InteractionPage:
        """One page; filters `channel`, `kind`, `from` (inclusive), `to` (exclusive)."""
        page = await list_interactions(
            uow_factory,
            customer_access(caller, request),
            limit=limit,
            cursor=cursor,
            filters=InteractionFilter(channel, kind, *parse_time_range(occurred_from, occurred_to)),
        )
        return InteractionPage([interaction_out(i) for i in page.items], page.next_cursor)

    @get(
        "/{interaction_id:str}",
        operation_id="getMyInteraction",
        summary="One of my interactions",
        responses=problems(404),
        **guarded("interactions:read", "interaction.read", "interaction", tag=TAG),
    )
    async def get_interaction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        interaction_id: FromPath[str],
    ) -> Interaction:
        """The interaction; 404 when it is not the caller's."""
        found = await read_interaction(
            uow_factory, customer_access(caller, request), interaction_id
        )
        return interaction_out(found)
