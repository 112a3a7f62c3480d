"""The bulk of an export archive, read in one stream per account (docs/architecture.md,
"Export archives").

A customer's transactions are most of their archive. They are read here with one query per
account whose rows arrive in partitions from a server-side cursor (plain column tuples, no
ORM objects), opened with one cipher for the customer's financial key and turned straight
into the archive's records: the same members and values `domain.dsr.archive.
transaction_record` gives for the domain object, without building it on the way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.accounts import TransactionDirection, TransactionStatus
from domain.dsr.archive import utc_text
from domain.errors import IntegrityError
from persistence.crypto import FieldCipher
from persistence.customer.tables import TransactionRow

STREAM_BATCH = 2000
"""Rows per partition of the stream: what is held in memory at once."""

_TABLE = TransactionRow.__tablename__
_DIRECTIONS = {member.value: member.value for member in TransactionDirection}
_STATUSES = {member.value: member.value for member in TransactionStatus}


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
    cipher = FieldCipher(data_key)
    open_optional, open_text = cipher.open, cipher.open_text
    query = (
        select(
            TransactionRow.id,
            TransactionRow.account_id,
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
    result = await session.stream(query)
    try:
        async for rows in result.partitions():
            records = []
            for (
                row_id,
                row_account,
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
                try:
                    direction_value = _DIRECTIONS[direction]
                    status_value = _STATUSES[status]
                except KeyError:
                    raise IntegrityError(f"{_TABLE} holds an unknown direction or status") from None
                records.append(
                    {
                        "id": str(row_id),
                        "account_id": str(row_account),
                        "booked_at": utc_text(booked_at),
                        "value_date": value_date.isoformat(),
                        "amount": str(
                            Decimal(open_text(amount, table=_TABLE, column="amount", row_id=row_id))
                        ),
                        "currency": currency,
                        "direction": direction_value,
                        "status": status_value,
                        "description": open_text(
                            description, table=_TABLE, column="description", row_id=row_id
                        ),
                        "category": category,
                        "merchant": open_optional(
                            merchant, table=_TABLE, column="merchant", row_id=row_id
                        ),
                        "reference": open_optional(
                            reference, table=_TABLE, column="reference", row_id=row_id
                        ),
                    }
                )
            yield records
    finally:
        await result.close()
