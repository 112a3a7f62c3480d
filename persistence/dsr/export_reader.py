"""The bulk of an export archive, read in one stream per account (docs/architecture.md,
"Export archives").

A customer's transactions are most of their archive. They are read here with one Core query
per account whose rows arrive in partitions from a server-side cursor (plain column tuples,
no ORM objects), opened with one AES-GCM object for the customer's financial key
(`persistence.customer.transaction_fields`: one sealed value a row, or four for a row stored
before revision 0014), a partition's values in one call, and turned straight into the
archive's records: the same members and values `domain.dsr.archive.transaction_record` gives
for the domain object, without building it on the way. Any value that does not
authenticate, or does not decode to its type, is an IntegrityError.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVarTuple
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession

from domain.customer.accounts import TransactionDirection, TransactionStatus
from domain.dsr.archive import utc_text
from domain.errors import IntegrityError
from persistence.crypto import FieldCipher
from persistence.customer import transaction_fields
from persistence.customer.tables import TransactionRow
from persistence.customer.transaction_fields import TransactionFieldsOpener

STREAM_BATCH = 2000
"""Rows per partition of the stream: what is held in memory at once."""

_Columns = TypeVarTuple("_Columns")
_TABLE = TransactionRow.__tablename__
_SEALED = len(transaction_fields.PLAIN_COLUMNS)
"""Where a row's sealed columns (`transaction_fields.READ_COLUMNS`) start: they follow."""
_DIRECTIONS = {member.value: member.value for member in TransactionDirection}
_STATUSES = {member.value: member.value for member in TransactionStatus}


def _records(
    rows: Sequence[Sequence[Any]], opener: TransactionFieldsOpener, account: str
) -> list[dict[str, Any]]:
    """The archive records of a partition of rows, opened with `opener` (the customer's
    financial key)."""
    if not rows:
        return []
    # Column by column: the partition's sealed values open in one call (a typed decode,
    # the amount already a Decimal), not one call a row.
    columns = list(zip(*rows, strict=True))
    sealed = columns[_SEALED : _SEALED + len(transaction_fields.READ_COLUMNS)]
    opened = opener.open_columns(columns[0], sealed)
    records: list[dict[str, Any]] = []
    append = records.append
    for row, (amount, description, merchant, reference) in zip(rows, opened, strict=True):
        row_id, booked_at, value_date, currency, direction, status, category = row[:_SEALED]
        try:
            direction_value = _DIRECTIONS[direction]
            status_value = _STATUSES[status]
        except KeyError:
            raise IntegrityError(f"{_TABLE} holds an unknown direction or status") from None
        append(
            {
                "id": str(row_id),
                "account_id": account,
                "booked_at": utc_text(booked_at),
                "value_date": value_date.isoformat(),
                "amount": str(amount),
                "currency": currency,
                "direction": direction_value,
                "status": status_value,
                "description": description,
                "category": category,
                "merchant": merchant,
                "reference": reference,
            }
        )
    return records


async def _read_ahead(
    result: AsyncResult[*_Columns], size: int
) -> AsyncIterator[Sequence[Row[*_Columns]]]:
    """The partitions of `result`, the next one asked for before this one is handed over, so
    that the database produces it while the caller works on this one."""
    ahead = asyncio.ensure_future(result.fetchmany(size))
    try:
        while rows := await ahead:
            ahead = asyncio.ensure_future(result.fetchmany(size))
            await asyncio.sleep(0)  # lets the request go out
            yield rows
    finally:
        # Stopped early (a failure downstream): let the request in flight finish rather than
        # cancel it half-way through the connection's protocol; its rows are dropped.
        with contextlib.suppress(Exception):
            await ahead


async def transaction_records(
    session: AsyncSession,
    customer_id: UUID,
    account_id: UUID,
    data_key: bytes,
    *,
    batch: int = STREAM_BATCH,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The account's transactions as archive records, newest first, `batch` at a time.

    IntegrityError when a sealed value does not authenticate (or a stored enum is unknown)."""
    opener = TransactionFieldsOpener(FieldCipher(data_key))
    account = str(account_id)  # the query asks for this account's rows only
    query = (
        select(*transaction_fields.PLAIN_COLUMNS, *transaction_fields.READ_COLUMNS)
        .where(TransactionRow.customer_id == customer_id, TransactionRow.account_id == account_id)
        .order_by(TransactionRow.booked_at.desc(), TransactionRow.id.desc())
        .execution_options(yield_per=batch)
    )
    connection = await session.connection()
    result = await connection.stream(query)
    try:
        # Reading ahead overlaps the work of a database server with ours; SQLite runs in this
        # process, under the same interpreter lock, and only slows down.
        partitions = (
            result.partitions()
            if connection.dialect.name == "sqlite"
            else _read_ahead(result, batch)
        )
        async for rows in partitions:
            yield _records(rows, opener, account)
    finally:
        await result.close()
