"""The bulk of an export archive, read in one stream per account (docs/architecture.md,
"Export archives").

A customer's transactions are most of their archive. They are read here with one Core query
per account whose rows arrive in partitions from a server-side cursor (plain column tuples,
no ORM objects), opened with one AES-GCM object for the customer's financial key (the
associated data of each column computed once, only the row id appended per row) and turned
straight into the archive's records: the same members and values `domain.dsr.archive.
transaction_record` gives for the domain object, without building it on the way. Opening
is `persistence.crypto.FieldCipher.open`, inlined: any value that does not authenticate is
an IntegrityError, as there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any, TypeVarTuple
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession

from domain.customer.accounts import TransactionDirection, TransactionStatus
from domain.dsr.archive import utc_text
from domain.errors import IntegrityError
from persistence.crypto import FORMAT_VERSION, KEY_BYTES, NONCE_BYTES, associated_data
from persistence.customer.tables import TransactionRow

STREAM_BATCH = 2000
"""Rows per partition of the stream: what is held in memory at once."""

_Columns = TypeVarTuple("_Columns")
_TABLE = TransactionRow.__tablename__
_DIRECTIONS = {member.value: member.value for member in TransactionDirection}
_STATUSES = {member.value: member.value for member in TransactionStatus}
_HEADER = 1 + NONCE_BYTES
_SHORTEST = _HEADER + 16  # the version, the nonce and the tag
_PRESENT, _ABSENT = b"\x01", b"\x00"  # the presence marker FieldCipher seals in front of a value


class _Opener:
    """Opens the sealed columns of the transactions table with one key."""

    __slots__ = ("_decrypt", "_prefixes")

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self._decrypt = AESGCM(data_key).decrypt
        self._prefixes = {
            column: associated_data(_TABLE, column, "")
            for column in ("amount", "description", "merchant", "reference")
        }

    def open(self, sealed: bytes, column: str, row: bytes) -> str | None:
        """The value of `column` in the row whose id is `row` (raw bytes), or None."""
        if len(sealed) < _SHORTEST or sealed[0] != FORMAT_VERSION:
            raise IntegrityError(f"{_TABLE}.{column} holds no valid sealed value")
        try:
            plain = self._decrypt(sealed[1:_HEADER], sealed[_HEADER:], self._prefixes[column] + row)
        except InvalidTag:
            raise IntegrityError(f"{_TABLE}.{column} does not authenticate") from None
        if plain[:1] == _PRESENT:
            return plain[1:].decode()
        if plain == _ABSENT:
            return None
        raise IntegrityError(f"{_TABLE}.{column} holds a malformed value")

    def text(self, sealed: bytes, column: str, row: bytes) -> str:
        """Like `open`, for a column that is never None."""
        value = self.open(sealed, column, row)
        if value is None:
            raise IntegrityError(f"{_TABLE}.{column} is unexpectedly empty")
        return value


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
    opener = _Opener(data_key)
    account = str(account_id)  # the query asks for this account's rows only
    open_optional, open_text = opener.open, opener.text
    query = (
        select(
            TransactionRow.id,
            TransactionRow.booked_at,
            TransactionRow.value_date,
            TransactionRow.amount,
            TransactionRow.currency,
            TransactionRow.direction,
            TransactionRow.status,
            TransactionRow.description,
            TransactionRow.category,
            TransactionRow.merchant,
            TransactionRow.reference,
        )
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
            records = []
            for (
                row_id,
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
            ) in rows:
                row = row_id.bytes
                try:
                    direction_value = _DIRECTIONS[direction]
                    status_value = _STATUSES[status]
                except KeyError:
                    raise IntegrityError(f"{_TABLE} holds an unknown direction or status") from None
                records.append(
                    {
                        "id": str(row_id),
                        "account_id": account,
                        "booked_at": utc_text(booked_at),
                        "value_date": value_date.isoformat(),
                        "amount": str(Decimal(open_text(amount, "amount", row))),
                        "currency": currency,
                        "direction": direction_value,
                        "status": status_value,
                        "description": open_text(description, "description", row),
                        "category": category,
                        "merchant": open_optional(merchant, "merchant", row),
                        "reference": open_optional(reference, "reference", row),
                    }
                )
            yield records
    finally:
        await result.close()
