"""Helpers the repositories share: UTC times in and out, and sealing one row's fields."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from persistence.crypto import FieldCipher


def utc_in(moment: datetime) -> datetime:
    """`moment` in UTC, for storing. Naive datetimes are refused: their zone is unknowable,
    and SQLite would store the wall-clock digits as if they were UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a stored time must be timezone-aware")
    return moment.astimezone(UTC)


def utc_out(moment: datetime) -> datetime:
    """A stored time as timezone-aware UTC (SQLite hands back naive values, which are UTC)."""
    if moment.tzinfo is UTC:  # as asyncpg hands them back: nothing to convert
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_out_optional(moment: datetime | None) -> datetime | None:
    """`utc_out` for a nullable column."""
    return None if moment is None else utc_out(moment)


class RowSealer:
    """Seals and opens the fields of one row: the cipher plus the table and row they bind to."""

    __slots__ = ("_cipher", "_row_id", "_table")

    def __init__(self, cipher: FieldCipher, table: str, row_id: UUID) -> None:
        self._cipher = cipher
        self._table = table
        self._row_id = row_id

    def seal(self, column: str, value: str | None) -> bytes:
        """The ciphertext of `value` for `column` of this row."""
        return self._cipher.seal(value, table=self._table, column=column, row_id=self._row_id)

    def text(self, column: str, sealed: bytes) -> str:
        """The plaintext of a never-empty column; IntegrityError if it does not authenticate."""
        return self._cipher.open_text(sealed, table=self._table, column=column, row_id=self._row_id)

    def optional(self, column: str, sealed: bytes) -> str | None:
        """The plaintext (or None) of a nullable column; IntegrityError if it does not
        authenticate."""
        return self._cipher.open(sealed, table=self._table, column=column, row_id=self._row_id)
