"""The bulk path for demo transactions: sealed like the repository seals them, inserted in bulk.

`SqlTransactionRepository.add_many` builds one dict per row and lets SQLAlchemy convert every
value: about 30 microseconds a row on SQLite, a minute for the 1.8 million transactions of a
1000-customer demo. Here each row is sealed with the same `seal_fields`, the same
associated data (table, column, row id) and the same plaintext forms as the repository
(`str(Decimal)` amounts), so the repository reads these rows back like its own, and goes to
the driver in one call per batch: `executemany` on SQLite, binary `COPY` on PostgreSQL.
Nothing is ever stored unsealed; only SQLAlchemy's per-value conversion is skipped, and the
conversions that matter on SQLite (UUID as 32 hex digits, datetimes as text) give exactly
what the ORM writes (the datetime shortcut is checked against the dialect's own converter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.accounts import Account
from persistence.crypto import FieldCipher
from persistence.customer.tables import TransactionRow
from persistence.customer.transaction_fields import seal_fields
from persistence.demo.transactions import Movement

_TABLE = TransactionRow.__tablename__
COLUMNS: tuple[str, ...] = (
    "id",
    "account_id",
    "customer_id",
    "booked_at",
    "value_date",
    "currency",
    "direction",
    "status",
    "category",
    "sealed_fields",
)
"""The order of the values in every row the writer produces."""


def decimal_text(minor_units: int) -> str:
    """`str(Decimal)` of an amount of minor units, e.g. 1234 -> "12.34", -5 -> "-0.05"."""
    sign = "-" if minor_units < 0 else ""
    whole, cents = divmod(abs(minor_units), 100)
    return f"{sign}{whole}.{cents:02d}"


class TransactionBulkWriter:
    """Seals demo movements into `transactions` rows and inserts them in one driver call."""

    def __init__(self, dialect_name: str) -> None:
        if dialect_name not in ("sqlite", "postgresql"):
            raise ValueError(f"no bulk path for {dialect_name}")
        self._sqlite = dialect_name == "sqlite"
        self._datetime = _datetime_converter(_sqlite_datetime_processor() if self._sqlite else None)
        # Table and column names are this module's constants; the values are bound.
        self._statement = (
            f"INSERT INTO {_TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(COLUMNS))})"
        )

    def rows(
        self,
        cipher: FieldCipher,
        account: Account,
        movements: Sequence[Movement],
        ids: Iterator[UUID],
    ) -> list[tuple[Any, ...]]:
        """The `transactions` rows (values in `COLUMNS` order) of `account`'s movements, the
        next id from `ids` for each."""
        to_datetime = self._datetime
        account_id: Any = account.id.hex if self._sqlite else account.id
        customer_id: Any = account.customer_id.hex if self._sqlite else account.customer_id
        currency = account.currency
        rows = []
        # Movements first: zip stops on them before drawing an id it would then drop.
        for (
            booked_at,
            amount,
            direction,
            status,
            description,
            category,
            merchant,
            reference,
        ), row_id in zip(movements, ids, strict=False):
            if self._sqlite:
                stored_id: Any = row_id.hex
                stored_at = to_datetime(booked_at)
                value_date = stored_at[:10]  # the date part of the datetime text
            else:
                stored_id, stored_at, value_date = row_id, booked_at, booked_at.date()
            rows.append(
                (
                    stored_id,
                    account_id,
                    customer_id,
                    stored_at,
                    value_date,
                    currency,
                    direction,
                    status,
                    category,
                    seal_fields(
                        cipher, row_id, (decimal_text(amount), description, merchant, reference)
                    ),
                )
            )
        return rows

    async def driver_connection(self, session: AsyncSession) -> Any:
        """The driver's own connection under `session` (aiosqlite or asyncpg), inside the
        session's current transaction: pass it to `insert`."""
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def insert(self, driver: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert `rows` on `driver` (from `driver_connection`), in its open transaction.

        The first thing this coroutine does is hand all the rows to the driver (a single job
        for aiosqlite's thread), so a caller that starts it as a task and yields once can
        seal the next rows while SQLite writes these with the GIL released.
        """
        if not rows:
            return
        if self._sqlite:
            cursor = await driver.executemany(self._statement, rows)
            await cursor.close()
            return
        await driver.copy_records_to_table(_TABLE, records=rows, columns=list(COLUMNS))


def _sqlite_datetime_processor() -> Callable[[datetime], Any] | None:
    # What the ORM stores on SQLite (aiosqlite shares the pysqlite dialect's DATETIME type).
    dialect = sqlite.dialect()
    column_type = TransactionRow.__table__.c.booked_at.type
    processor: Callable[[datetime], Any] | None = column_type.dialect_impl(dialect).bind_processor(
        dialect
    )
    return processor


def _iso_text(moment: datetime) -> str:
    # "2024-05-16 17:24:44.491376" (the UTC offset cut off): a C call, where SQLAlchemy's
    # SQLite converter formats through a dict; twice as fast, 1.8 million times.
    return moment.isoformat(" ", "microseconds")[:26]


def _datetime_converter(processor: Callable[[datetime], Any] | None) -> Callable[[datetime], Any]:
    """What a UTC datetime is stored as: the dialect's own conversion (None: the datetime
    itself), or an equivalent shortcut when it provably gives the same text."""
    if processor is None:
        return _unchanged
    samples = (
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 0, 0, 0, 1, tzinfo=UTC),
    )
    if all(_iso_text(sample) == processor(sample) for sample in samples):
        return _iso_text
    return processor


def _unchanged(moment: datetime) -> datetime:
    return moment
