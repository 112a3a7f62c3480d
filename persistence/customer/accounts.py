"""Accounts and their transactions, sealed under the customer's financial key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, Select, Uuid, bindparam, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.accounts import (
    Account,
    AccountStatus,
    AccountType,
    Transaction,
    TransactionDirection,
    TransactionStatus,
)
from domain.errors import IntegrityError, NotFound
from domain.retention import RetentionClass
from persistence.crypto import FieldCipher
from persistence.customer import transaction_fields
from persistence.customer.tables import AccountRow, TransactionRow
from persistence.customer.transaction_fields import TransactionFieldsOpener, seal_fields
from persistence.driver_read import driver_read
from persistence.keystore import KeyDestroyed, SqlKeyRing
from persistence.sealing import RowSealer, utc_in, utc_out, utc_out_optional
from persistence.sqlite_driver import short_read

_ACCOUNTS = AccountRow.__tablename__
_TRANSACTIONS = TransactionRow.__tablename__
_FINANCIAL = RetentionClass.FINANCIAL


class SqlAccountRepository:
    """domain.ports.AccountRepository: name, number and balance sealed, the rest plaintext."""

    def __init__(self, session: AsyncSession, keys: SqlKeyRing) -> None:
        self._session = session
        self._keys = keys

    async def add(self, account: Account) -> None:
        """Store a new account."""
        await self.add_many([account])

    async def add_many(self, accounts: Sequence[Account]) -> None:
        """Store new accounts in one batch."""
        rows: list[dict[str, Any]] = []
        for account in accounts:
            cipher = await self._keys.cipher_for_writing(account.customer_id, _FINANCIAL)
            sealer = RowSealer(cipher, _ACCOUNTS, account.id)
            rows.append(
                {
                    "id": account.id,
                    "customer_id": account.customer_id,
                    "type": account.type.value,
                    "name": sealer.seal("name", account.name),
                    "number_last4": sealer.seal("number_last4", account.number_last4),
                    "balance": sealer.seal("balance", str(account.balance)),
                    "currency": account.currency,
                    "status": account.status.value,
                    "opened_at": utc_in(account.opened_at),
                    "closed_at": None if account.closed_at is None else utc_in(account.closed_at),
                }
            )
        if rows:
            await self._session.execute(insert(AccountRow), rows)

    async def get(self, customer_id: UUID, account_id: UUID) -> Account | None:
        """The customer's account, or None when missing, someone else's, or erased."""
        row = await self._session.scalar(
            short_read(
                select(AccountRow).where(
                    AccountRow.id == account_id, AccountRow.customer_id == customer_id
                )
            )
        )
        if row is None:
            return None
        accounts = await self._decrypt(customer_id, [row])
        return accounts[0] if accounts else None

    async def list_for_customer(self, customer_id: UUID) -> list[Account]:
        """The customer's accounts, oldest first (empty when the financial key is destroyed)."""
        rows = (
            await self._session.scalars(
                short_read(
                    select(AccountRow)
                    .where(AccountRow.customer_id == customer_id)
                    .order_by(AccountRow.opened_at, AccountRow.id)
                )
            )
        ).all()
        return await self._decrypt(customer_id, rows)

    async def exists(self, customer_id: UUID, account_id: UUID) -> bool:
        """Whether the account exists and is the customer's (nothing is decrypted)."""
        found = await self._session.scalar(
            short_read(
                select(AccountRow.id).where(
                    AccountRow.id == account_id, AccountRow.customer_id == customer_id
                )
            )
        )
        return found is not None

    async def _decrypt(self, customer_id: UUID, rows: Sequence[AccountRow]) -> list[Account]:
        if not rows:
            return []
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, _FINANCIAL)
        except KeyDestroyed:
            return []
        return [_account(row, RowSealer(cipher, _ACCOUNTS, row.id)) for row in rows]


# Transactions are read as plain rows (Core), not ORM objects: a page decrypts 50 of them,
# and building and tracking 50 mapped instances cost more than the query. The columns come
# in a fixed order (transaction_fields) so that a row unpacks by position, the sealed last.
_PLAIN_COLUMNS = transaction_fields.PLAIN_COLUMNS
_READ_COLUMNS: tuple[Any, ...] = (*_PLAIN_COLUMNS, *transaction_fields.READ_COLUMNS)
_SEALED = len(_PLAIN_COLUMNS)
"""Where the sealed columns start in `_READ_COLUMNS` (they end it)."""
_DIRECTIONS = {direction.value: direction for direction in TransactionDirection}
_STATUSES = {status.value: status for status in TransactionStatus}


class SqlTransactionRepository:
    """domain.ports.TransactionRepository: amount, description, merchant and reference sealed;
    times, status, currency, direction and category plaintext for filtering and paging."""

    def __init__(self, session: AsyncSession, keys: SqlKeyRing) -> None:
        self._session = session
        self._keys = keys

    async def count_for_customer(self, customer_id: UUID) -> int:
        """How many transactions the customer has on all accounts (nothing decrypted)."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(TransactionRow)
            .where(TransactionRow.customer_id == customer_id)
        )
        return count or 0

    async def add_many(self, transactions: Sequence[Transaction]) -> None:
        """Store transactions in one batch. Raises NotFound when one names an account that is
        not its customer's (it would otherwise be sealed under the wrong customer's key)."""
        if not transactions:
            return
        result = await self._session.execute(
            select(AccountRow.id, AccountRow.customer_id).where(
                AccountRow.id.in_({t.account_id for t in transactions})
            )
        )
        owners: dict[UUID, UUID] = dict(result.all())
        rows: list[dict[str, Any]] = []
        for transaction in transactions:
            if owners.get(transaction.account_id) != transaction.customer_id:
                raise NotFound("no such account for this customer")
            cipher = await self._keys.cipher_for_writing(transaction.customer_id, _FINANCIAL)
            rows.append(_transaction_values(transaction, cipher))
        await self._session.execute(insert(TransactionRow), rows)

    async def get(self, customer_id: UUID, transaction_id: UUID) -> Transaction | None:
        """The customer's transaction, or None when missing, someone else's, or erased."""
        row = (
            await self._session.execute(
                short_read(
                    select(*_READ_COLUMNS, TransactionRow.account_id).where(
                        TransactionRow.id == transaction_id,
                        TransactionRow.customer_id == customer_id,
                    )
                )
            )
        ).first()
        if row is None:
            return None
        found = await self._decrypt(customer_id, row[-1], [(value,) for value in row])
        return found[0] if found else None

    async def list_for_account(
        self,
        customer_id: UUID,
        account_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
        booked_from: datetime | None = None,
        booked_to: datetime | None = None,
        status: TransactionStatus | None = None,
    ) -> list[Transaction]:
        """The account's transactions, newest first, at most `limit`.

        `before` = (booked_at, id) of the last transaction of the previous page (keyset
        paging); `booked_from` is inclusive, `booked_to` exclusive. Another customer's account
        gives an empty list, like an account without transactions.
        """
        filters = {
            "before": before is not None,
            "booked_from": booked_from is not None,
            "booked_to": booked_to is not None,
            "status": status is not None,
        }
        parameters: dict[str, Any] = {
            "customer_id": customer_id,
            "account_id": account_id,
            "limit": limit,
        }
        if before is not None:
            parameters["before_at"], parameters["before_id"] = utc_in(before[0]), before[1]
        if booked_from is not None:
            parameters["booked_from"] = utc_in(booked_from)
        if booked_to is not None:
            parameters["booked_to"] = utc_in(booked_to)
        if status is not None:
            parameters["status"] = status.value
        # On the driver's connection (persistence.driver_read): the statement selects
        # columns, not mapped objects, and SQLAlchemy's layers cost more than the read.
        dialect = self._session.get_bind().dialect
        read = driver_read(_page_query(**filters, older_form=False), dialect)
        columns = await read.columns_in(self._session, parameters)
        if None in columns[_SEALED]:
            # A row stored before revision 0014 (transaction_fields): the page is read again
            # with the four columns that hold its fields, in one statement, so each row
            # comes whole from one read.
            read = driver_read(_page_query(**filters, older_form=True), dialect)
            columns = await read.columns_in(self._session, parameters)
        # Every row carries the stored data key in its last column.
        return await self._decrypt(
            customer_id, account_id, columns, wrapped=columns[-1][0] if columns[0] else None
        )

    async def _decrypt(
        self,
        customer_id: UUID,
        account_id: UUID,
        columns: Sequence[Sequence[Any]],
        *,
        wrapped: bytes | None = None,
    ) -> list[Transaction]:
        if not columns[0]:
            return []
        try:
            cipher = await self._keys.cipher_for_reading(customer_id, _FINANCIAL, wrapped=wrapped)
        except KeyDestroyed:
            return []
        return _transactions(customer_id, account_id, columns, TransactionFieldsOpener(cipher))


@cache
def _page_query(
    *, before: bool, booked_from: bool, booked_to: bool, status: bool, older_form: bool
) -> Select[Any]:
    """The statement of a page of one account's transactions, newest first, with the stored
    data key in its last column; built once for each combination of filters, so a request
    neither rebuilds it nor recomputes its cache key.

    Without `older_form`, of the sealed columns only `sealed_fields`: the four that hold the
    fields of rows stored before revision 0014 are empty in every row stored since, and
    reading them cost a page on SQLite about a sixth of its statement's time."""
    booked_at = TransactionRow.booked_at
    sealed = transaction_fields.READ_COLUMNS if older_form else (TransactionRow.sealed_fields,)
    query = select(
        *_PLAIN_COLUMNS,
        *sealed,
        SqlKeyRing.wrapped_key_of(bindparam("customer_id", type_=Uuid), _FINANCIAL),
    ).where(
        TransactionRow.customer_id == bindparam("customer_id"),
        TransactionRow.account_id == bindparam("account_id"),
    )
    if before:
        query = query.where(
            tuple_(booked_at, TransactionRow.id)
            < tuple_(
                bindparam("before_at", type_=booked_at.type),
                bindparam("before_id", type_=Uuid),
            )
        )
    if booked_from:
        query = query.where(booked_at >= bindparam("booked_from"))
    if booked_to:
        query = query.where(booked_at < bindparam("booked_to"))
    if status:
        query = query.where(TransactionRow.status == bindparam("status"))
    return short_read(
        query.order_by(booked_at.desc(), TransactionRow.id.desc()).limit(
            bindparam("limit", type_=Integer)
        )
    )


def _account(row: AccountRow, sealer: RowSealer) -> Account:
    return Account(
        id=row.id,
        customer_id=row.customer_id,
        type=AccountType(row.type),
        name=sealer.text("name", row.name),
        number_last4=sealer.text("number_last4", row.number_last4),
        currency=row.currency,
        status=AccountStatus(row.status),
        opened_at=utc_out(row.opened_at),
        balance=Decimal(sealer.text("balance", row.balance)),
        closed_at=utc_out_optional(row.closed_at),
    )


def _transaction_values(transaction: Transaction, cipher: FieldCipher) -> dict[str, Any]:
    return {
        "id": transaction.id,
        "account_id": transaction.account_id,
        "customer_id": transaction.customer_id,
        "booked_at": utc_in(transaction.booked_at),
        "value_date": transaction.value_date,
        "currency": transaction.currency,
        "direction": transaction.direction.value,
        "status": transaction.status.value,
        "category": transaction.category,
        "sealed_fields": seal_fields(
            cipher,
            transaction.id,
            (
                str(transaction.amount),
                transaction.description,
                transaction.merchant,
                transaction.reference,
            ),
        ),
    }


def _transactions(
    customer_id: UUID,
    account_id: UUID,
    columns: Sequence[Sequence[Any]],
    opener: TransactionFieldsOpener,
) -> list[Transaction]:
    """The transactions on one account whose rows `columns` holds column by column (the
    `_PLAIN_COLUMNS`, then `sealed_fields`, then the older form's four columns unless every
    row has `sealed_fields`, maybe more after them), opened. Taken a column at a time, a page of
    fifty makes no row objects, and each column's conversion is one step. The account comes
    from the query, not from each row: one id fewer to convert per row."""
    ids, booked, value_dates, currencies, directions, statuses, categories = columns[:_SEALED]
    fields = opener.open_columns(ids, columns[_SEALED:])
    try:
        known_directions = [_DIRECTIONS[direction] for direction in directions]
        known_statuses = [_STATUSES[status] for status in statuses]
    except KeyError:
        raise IntegrityError(f"{_TRANSACTIONS} holds an unknown direction or status") from None
    # `booked_at` is read as aware UTC on both engines (persistence.base.UTC_DATETIME).
    # Positional, in the order of Transaction's fields: for thirteen of them, keywords cost
    # a microsecond a row more.
    return [
        _make_transaction(
            (
                row_id,
                customer_id,
                account_id,
                booked_at,
                value_date,
                amount,
                currency,
                direction,
                status,
                description,
                category,
                merchant,
                reference,
            )
        )
        for (
            row_id,
            booked_at,
            value_date,
            currency,
            direction,
            status,
            category,
            (amount, description, merchant, reference),
        ) in zip(
            ids,
            booked,
            value_dates,
            currencies,
            known_directions,
            known_statuses,
            categories,
            fields,
            strict=True,
        )
    ]


_make_transaction = Transaction._make
