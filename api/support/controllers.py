"""GET /v1/support/customers/{customer_id}/profile | accounts | interactions (support:read).

Both `X-Access-Purpose` (from a fixed list) and `X-Ticket` are required (400 without);
every read appears in the customer's access log with that purpose and ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter

from api.middleware import request_id_of
from api.routes import problems
from api.self_service.dtos import (
    Account,
    AccountList,
    Interaction,
    Profile,
    account_out,
    interaction_out,
    profile_out,
)
from domain.clock import Clock
from domain.errors import NotFound
from domain.identity import Caller
from domain.support.access import (
    TICKET_PATTERN,
    SupportPurpose,
    SupportRequest,
    support_read_accounts,
    support_read_interactions,
    support_read_profile,
)
from domain.support.grants import GrantUnitOfWork

SUPPORT_TAG = "support"
_SCOPES: dict[str, Any] = {"scopes": ("support:read",)}
_SECURITY = [{"oauth2": ["support:read"]}]

Purpose = Annotated[
    SupportPurpose,
    HeaderParameter(name="X-Access-Purpose", description="Why the customer's data is read"),
]
Ticket = Annotated[
    str,
    HeaderParameter(
        name="X-Ticket",
        pattern=TICKET_PATTERN,
        max_length=32,
        description="The support ticket the read is for",
    ),
]


def _request(
    caller: Caller,
    request: Request[Any, Any, State],
    customer_id: str,
    purpose: SupportPurpose,
    ticket: str,
    *,
    at: datetime,
) -> SupportRequest:
    try:
        subject = UUID(customer_id)
    except ValueError:
        raise NotFound("no such customer") from None
    return SupportRequest(
        caller.as_actor(), subject, purpose, ticket, request_id_of(request.scope), at
    )


class SupportInteractionList(msgspec.Struct):
    """The customer's newest interactions."""

    items: list[Interaction]
    next_cursor: str | None = None


class SupportController(Controller):
    """Purpose-bound reads for support agents."""

    path = "/v1/support/customers/{customer_id:str}"
    tags = [SUPPORT_TAG]

    @get(
        "/profile",
        operation_id="supportGetCustomerProfile",
        opt=_SCOPES,
        security=_SECURITY,
        responses=problems(400, 404),
        summary="A customer's profile, for a support ticket",
    )
    async def profile(
        self,
        *,
        request: Request[Any, Any, State],
        caller: NamedDependency[Caller],
        grant_units: NamedDependency[Callable[[], GrantUnitOfWork]],
        clock: NamedDependency[Clock],
        customer_id: FromPath[str],
        purpose: Purpose,
        ticket: Ticket,
    ) -> Profile:
        """The profile; 403 for a restricted customer unless the purpose is legal_claim."""
        read = _request(caller, request, customer_id, purpose, ticket, at=clock.now())
        return profile_out(await support_read_profile(grant_units(), read))

    @get(
        "/accounts",
        operation_id="supportListCustomerAccounts",
        opt=_SCOPES,
        security=_SECURITY,
        responses=problems(400, 404),
        summary="A customer's accounts, for a support ticket",
    )
    async def accounts(
        self,
        *,
        request: Request[Any, Any, State],
        caller: NamedDependency[Caller],
        grant_units: NamedDependency[Callable[[], GrantUnitOfWork]],
        clock: NamedDependency[Clock],
        customer_id: FromPath[str],
        purpose: Purpose,
        ticket: Ticket,
    ) -> AccountList:
        """The accounts; 403 for a restricted customer unless the purpose is legal_claim."""
        read = _request(caller, request, customer_id, purpose, ticket, at=clock.now())
        accounts: list[Account] = [
            account_out(a) for a in await support_read_accounts(grant_units(), read)
        ]
        return AccountList(items=accounts)

    @get(
        "/interactions",
        operation_id="supportListCustomerInteractions",
        opt=_SCOPES,
        security=_SECURITY,
        responses=problems(400, 404),
        summary="A customer's newest interactions, for a support ticket",
    )
    async def interactions(
        self,
        *,
        request: Request[Any, Any, State],
        caller: NamedDependency[Caller],
        grant_units: NamedDependency[Callable[[], GrantUnitOfWork]],
        clock: NamedDependency[Clock],
        customer_id: FromPath[str],
        purpose: Purpose,
        ticket: Ticket,
    ) -> SupportInteractionList:
        """The interactions; 403 for a restricted customer unless the purpose is legal_claim."""
        read = _request(caller, request, customer_id, purpose, ticket, at=clock.now())
        found = await support_read_interactions(grant_units(), read)
        return SupportInteractionList(items=[interaction_out(i) for i in found])
