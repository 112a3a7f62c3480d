"""My accounts, one account, the transactions on an account, and one transaction.
Every call is audited before the answer is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from api.routes import Cursor, From, Limit, To, customer_access, guarded, parse_time_range, problems
from api.self_service import TAG
from api.self_service.dtos import (
    Account,
    AccountList,
    Transaction,
    TransactionPage,
    account_out,
    transaction_out,
)
from domain.customer.accounts import TransactionStatus
from domain.identity import Caller
from domain.pagination import DEFAULT_LIMIT
from domain.ports import UnitOfWork
from domain.self_service.read_accounts import (
    TransactionFilter,
    list_accounts,
    list_transactions,
    read_account,
    read_transaction,
)

Uow = NamedDependency[Callable[[], UnitOfWork]]


class MyAccounts(Controller):
    """The caller's accounts and the transactions booked on them."""

    path = "/v1/me"

    @get(
        "/accounts",
        operation_id="listMyAccounts",
        summary="My accounts",
        responses=problems(),
        **guarded("accounts:read", "account.list", "account", tag=TAG),
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
        **guarded("accounts:read", "account.read", "account", tag=TAG),
    )
    async def get_account(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        account_id: FromPath[str],
    ) -> Account:
        """The account; 404 when it is not the caller's."""
        account = await read_account(uow_factory, customer_access(caller, request), account_id)
        return account_out(account)

    @get(
        "/accounts/{account_id:str}/transactions",
        operation_id="listMyAccountTransactions",
        summary="The transactions on one of my accounts, newest first",
        responses=problems(400, 404, 422),
        **guarded("transactions:read", "transaction.list", "account", tag=TAG),
    )
    async def get_transactions(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        account_id: FromPath[str],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
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
            filters=TransactionFilter(*parse_time_range(booked_from, booked_to), status),
        )
        return TransactionPage([transaction_out(t) for t in page.items], page.next_cursor)

    @get(
        "/transactions/{transaction_id:str}",
        operation_id="getMyTransaction",
        summary="One of my transactions",
        responses=problems(404),
        **guarded("transactions:read", "transaction.read", "transaction", tag=TAG),
    )
    async def get_transaction(
        self,
        *,
        caller: NamedDependency[Caller],
        request: Request[Any, Any, Any],
        uow_factory: Uow,
        transaction_id: FromPath[str],
    ) -> Transaction:
        """The transaction; 404 when it is not the caller's."""
        found = await read_transaction(
            uow_factory, customer_access(caller, request), transaction_id
        )
        return transaction_out(found)
