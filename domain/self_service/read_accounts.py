"""Read my accounts, one account, the transactions on an account, and one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.customer.access import Access, deny_read_not_found, parse_id, record_read
from domain.customer.accounts import Account, Transaction, TransactionStatus
from domain.pagination import (
    InvalidCursor,
    Keyset,
    Page,
    Position,
    filtered_list,
    key_of,
    read_page,
)
from domain.ports import UnitOfWork

ACCOUNT_FIELDS = (
    "type",
    "name",
    "masked_number",
    "currency",
    "status",
    "opened_at",
    "closed_at",
    "balance",
)
TRANSACTION_FIELDS = (
    "booked_at",
    "value_date",
    "amount",
    "currency",
    "direction",
    "status",
    "description",
    "merchant",
    "category",
    "reference",
)


async def list_accounts(uow_factory: Callable[[], UnitOfWork], access: Access) -> list[Account]:
    """Every account of the customer, oldest first, after a durable `account.list` event."""
    async with uow_factory().reading() as uow:
        accounts = await uow.accounts.list_for_customer(access.subject_id)
    await record_read(uow, access, "account.list", "account", fields=ACCOUNT_FIELDS)
    return accounts


async def read_account(
    uow_factory: Callable[[], UnitOfWork], access: Access, account_id: str
) -> Account:
    """One of the customer's accounts; NotFound (audited as denied) when the id is malformed,
    missing or someone else's."""
    async with uow_factory().reading() as uow:
        wanted = parse_id(account_id)
        account = None if wanted is None else await uow.accounts.get(access.subject_id, wanted)
        if account is None:
            raise await deny_read_not_found(uow, access, "account.read", "account", wanted)
    await record_read(uow, access, "account.read", "account", account.id, fields=ACCOUNT_FIELDS)
    return account


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """Optional filters: `booked_from` inclusive, `booked_to` exclusive."""

    booked_from: datetime | None = None
    booked_to: datetime | None = None
    status: TransactionStatus | None = None


async def list_transactions(
    uow_factory: Callable[[], UnitOfWork],
    access: Access,
    account_id: str,
    *,
    limit: int,
    cursor: str | None,
    filters: TransactionFilter,
) -> Page[Transaction]:
    """The account's transactions, newest first, one page, after a durable `transaction.list`
    event. NotFound (audited as denied) for an account that is not the customer's;
    InvalidCursor for a cursor not issued for this account's list with these filters."""
    async with uow_factory().reading() as uow:
        wanted = parse_id(account_id)
        if wanted is None:
            raise await deny_read_not_found(uow, access, "transaction.list", "account", None)
        list_name = filtered_list(f"transactions:{access.subject_id}:{wanted}", filters)
        keyset = Keyset.by_position(uow.cursors, list_name, _transaction_key)
        try:
            page = await read_page(
                keyset,
                cursor,
                limit,
                lambda after, n: uow.transactions.list_for_account(
                    access.subject_id,
                    wanted,
                    limit=n,
                    before=key_of(after),
                    booked_from=filters.booked_from,
                    booked_to=filters.booked_to,
                    status=filters.status,
                ),
            )
        except InvalidCursor:
            if not await uow.accounts.exists(access.subject_id, wanted):
                raise await deny_read_not_found(
                    uow, access, "transaction.list", "account", wanted
                ) from None
            raise
        # The query reads the customer's own rows only, so a row found proves the account is
        # theirs; only an empty page needs asking whether the account is theirs at all.
        if not page.items and not await uow.accounts.exists(access.subject_id, wanted):
            raise await deny_read_not_found(uow, access, "transaction.list", "account", wanted)
    await record_read(uow, access, "transaction.list", "account", wanted, fields=TRANSACTION_FIELDS)
    return page


async def read_transaction(
    uow_factory: Callable[[], UnitOfWork], access: Access, transaction_id: str
) -> Transaction:
    """One of the customer's transactions; NotFound (audited as denied) otherwise."""
    async with uow_factory().reading() as uow:
        wanted = parse_id(transaction_id)
        found = None if wanted is None else await uow.transactions.get(access.subject_id, wanted)
        if found is None:
            raise await deny_read_not_found(uow, access, "transaction.read", "transaction", wanted)
    await record_read(
        uow, access, "transaction.read", "transaction", found.id, fields=TRANSACTION_FIELDS
    )
    return found


def _transaction_key(transaction: Transaction) -> Position:
    return Position(transaction.booked_at, transaction.id)
