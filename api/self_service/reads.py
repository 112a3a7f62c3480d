"""GET routes: my profile and its history, accounts, transactions, interactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from api.self_service.common import (
    CURSOR_DOC,
    LIMIT_DOC,
    customer_access,
    guarded,
    parse_time,
    problems,
)
from api.self_service.dtos import (
    AccountList,
    AccountOut,
    InteractionOut,
    InteractionPage,
    ProfileHistoryPage,
    TransactionOut,
    TransactionPage,
    account_out,
    change_out,
    interaction_out,
    transaction_out,
)
from domain.customer.accounts import TransactionStatus
from domain.customer.interactions import Channel, InteractionKind
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.ports import UnitOfWork
from domain.self_service.read_accounts import (
    TransactionFilter,
    list_accounts,
    list_transactions,
    read_account,
    read_transaction,
)
from domain.self_service.read_interactions import (
    InteractionFilter,
    list_interactions,
    read_interaction,
)
from domain.self_service.read_profile import read_profile_history

Uow = NamedDependency[Callable[[], UnitOfWork]]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=LIMIT_DOC)]
CursorParam = Annotated[str | None, QueryParameter(max_length=512, description=CURSOR_DOC)]
# Strings, parsed by parse_time: Litestar's datetime parsing would also take Unix times.
_DATE_TIME = {"format": "date-time"}
From = Annotated[
    str | None,
    QueryParameter(
        name="from", schema_extra=_DATE_TIME, description="Only items at or after this time."
    ),
]
To = Annotated[
    str | None,
    QueryParameter(name="to", schema_extra=_DATE_TIME, description="Only items before this time."),
]
ETAG_HEADER = ResponseHeader(
    name="ETag", description="The profile version, quoted.", documentation_only=True
)


class SelfServiceReads(Controller):
    """Reads of the caller's own data; every call is audited before the answer is sent."""

    path = "/v1/me"

    @get(
        "/profile/history",
        operation_id="listMyProfileHistory",
        summary="The changes made to my profile, newest first",
        responses=problems(400),
        **guarded("profile:read", "profile.history.read", "profile"),
    )
    async def get_history(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> ProfileHistoryPage:
        """Each changed field: version, old and new value, who (customer or staff), when."""
        page = await read_profile_history(
            uow_factory, customer_access(caller, request), limit=limit, cursor=cursor
        )
        return ProfileHistoryPage([change_out(c) for c in page.items], page.next_cursor)

    @get(
        "/accounts",
        operation_id="listMyAccounts",
        summary="My accounts",
        responses=problems(),
        **guarded("accounts:read", "account.list", "account"),
    )
    async def get_accounts(
        self, *, caller: NamedDependency[Caller], request: Request[Any, Any, Any], uow_factory: Uow
    ) -> AccountList:
        """Every account, oldest first, numbers masked."""
        accounts = await list_accounts(uow_factory, customer_access(caller, request))
        return AccountList([account_out(a) for a in accounts])

    @get(
        "/accounts/{account_id:str}",
        operation_id="getMyAccount",
        summary="One of my accounts",
        responses=problems(404),
        **guarded("accounts:read", "account.read", "account"),
    )
    async def get_account(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        account_id: FromPath[str],
    ) -> AccountOut:
        """The account; 404 when it is not the caller's."""
        account = await read_account(uow_factory, customer_access(caller, request), account_id)
        return account_out(account)

    @get(
        "/accounts/{account_id:str}/transactions",
        operation_id="listMyAccountTransactions",
        summary="The transactions on one of my accounts, newest first",
        responses=problems(400, 404),
        **guarded("transactions:read", "transaction.list", "account"),
    )
    async def get_transactions(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        account_id: FromPath[str],
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
        booked_from: From = None,
        booked_to: To = None,
        status: FromQuery[TransactionStatus | None] = None,
    ) -> TransactionPage:
        """One page; filters `from` (inclusive), `to` (exclusive), `status`."""
        page = await list_transactions(
            uow_factory,
            customer_access(caller, request),
            account_id,
            limit=limit,
            cursor=cursor,
            filters=TransactionFilter(
                parse_time(booked_from, "from"), parse_time(booked_to, "to"), status
            ),
        )
        return TransactionPage([transaction_out(t) for t in page.items], page.next_cursor)

    @get(
        "/transactions/{transaction_id:str}",
        operation_id="getMyTransaction",
        summary="One of my transactions",
        responses=problems(404),
        **guarded("transactions:read", "transaction.read", "transaction"),
    )
    async def get_transaction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        transaction_id: FromPath[str],
    ) -> TransactionOut:
        """The transaction; 404 when it is not the caller's."""
        found = await read_transaction(
            uow_factory, customer_access(caller, request), transaction_id
        )
        return transaction_out(found)

    @get(
        "/interactions",
        operation_id="listMyInteractions",
        summary="My interactions with the organisation, newest first",
        responses=problems(400),
        **guarded("interactions:read", "interaction.list", "interaction"),
    )
    async def get_interactions(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
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
            filters=InteractionFilter(
                channel, kind, parse_time(occurred_from, "from"), parse_time(occurred_to, "to")
            ),
        )
        return InteractionPage([interaction_out(i) for i in page.items], page.next_cursor)

    @get(
        "/interactions/{interaction_id:str}",
        operation_id="getMyInteraction",
        summary="One of my interactions",
        responses=problems(404),
        **guarded("interactions:read", "interaction.read", "interaction"),
    )
    async def get_interaction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        interaction_id: FromPath[str],
    ) -> InteractionOut:
        """The interaction; 404 when it is not the caller's."""
        found = await read_interaction(
            uow_factory, customer_access(caller, request), interaction_id
        )
        return interaction_out(found)
