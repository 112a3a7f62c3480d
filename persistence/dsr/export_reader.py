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
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any, NoReturn, TypeVarTuple
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession

from domain.customer.accounts import TransactionDirection, TransactionStatus
from domain.dsr.archive import utc_text
from domain.errors import IntegrityError
from persistence.crypto import FORMAT_VERSION, NONCE_BYTES, associated_data
from persistence.customer.tables import TransactionRow

STREAM_BATCH = 2000
"""Rows per partition of the stream: what is held in memory at once."""

_Columns = TypeVarTuple("_Columns")
_TABLE = TransactionRow.__tablename__
_DIRECTIONS = {member.value: member.value for member in TransactionDirection}
_STATUSES = {member.value: member.value for member in TransactionStatus}
_HEADER = 1 + NONCE_BYTES
_VERSION = bytes([FORMAT_VERSION])
_PRESENT, _ABSENT = b"\x01", b"\x00"  # the presence marker FieldCipher seals in front of a value


_AMOUNT, _DESCRIPTION, _MERCHANT, _REFERENCE = (
    associated_data(_TABLE, column, "")  # + the row id's 16 bytes
    for column in ("amount", "description", "merchant", "reference")
)


def _absent(plain: bytes) -> str | None:
    """A plaintext without the presence marker: None when it is a sealed None."""
    if plain == _ABSENT:
        return None
    raise IntegrityError(f"{_TABLE} holds a malformed value")


def _missing(plain: bytes) -> NoReturn:
    """A plaintext without the presence marker where a value is required."""
    raise IntegrityError(f"{_TABLE} holds a malformed or unexpectedly empty value")


def _records(
    rows: Sequence[Sequence[Any]], decrypt: Callable[[bytes, bytes, bytes], bytes], account: str
) -> list[dict[str, Any]]:
    """The archive records of a partition of rows, opened with `decrypt` (the customer's
    financial key). This is FieldCipher.open inlined: every check it makes is made."""
    records: list[dict[str, Any]] = []
    append = records.append
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
        if (
            amount[:1] != _VERSION
            or description[:1] != _VERSION
            or merchant[:1] != _VERSION
            or reference[:1] != _VERSION
        ):
            raise IntegrityError(f"{_TABLE} holds a value in no known sealed format")
        try:
            amount_plain = decrypt(amount[1:_HEADER], amount[_HEADER:], _AMOUNT + row)
            description_plain = decrypt(
                description[1:_HEADER], description[_HEADER:], _DESCRIPTION + row
            )
            merchant_plain = decrypt(merchant[1:_HEADER], merchant[_HEADER:], _MERCHANT + row)
            reference_plain = decrypt(reference[1:_HEADER], reference[_HEADER:], _REFERENCE + row)
            direction_value = _DIRECTIONS[direction]
            status_value = _STATUSES[status]
        except (InvalidTag, ValueError, KeyError):
            # Altered, truncated, moved from another row or column, sealed under another key,
            # or an unknown direction or status.
            raise IntegrityError(f"{_TABLE} holds a value that does not authenticate") from None
        append(
            {
                "id": str(row_id),
                "account_id": account,
                "booked_at": utc_text(booked_at),
                "value_date": value_date.isoformat(),
                "amount": str(
                    Decimal(
                        amount_plain[1:].decode()
                        if amount_plain[:1] == _PRESENT
                        else _missing(amount_plain)
                    )
                ),
                "currency": currency,
                "direction": direction_value,
                "status": status_value,
                "description": description_plain[1:].decode()
                if description_plain[:1] == _PRESENT
                else _missing(description_plain),
                "category": category,
                "merchant": merchant_plain[1:].decode()
                if merchant_plain[:1] == _PRESENT
                else _absent(merchant_plain),
                "reference": reference_plain[1:].decode()
                if reference_plain[:1] == _PRESENT
                else _absent(reference_plain),
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
    decrypt = AESGCM(data_key).decrypt
    account = str(account_id)  # the query asks for this account's rows only
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
            yield _records(rows, decrypt, account)
    finally:
        await result.close()
