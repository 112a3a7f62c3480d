"""The declarative base every table model derives from, and the declaration every column
carries: its data category, its retention class and whether it holds ciphertext."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, SafeUUID

import msgspec
from sqlalchemy import DateTime, MetaData, Uuid
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect, processors
from sqlalchemy.orm import DeclarativeBase

from domain.retention import DataCategory, RetentionClass

# Stable constraint names, so migrations on SQLite (batch mode) and PostgreSQL agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _SqliteUtcDateTime(sqlite.DATETIME):
    """SQLite's DATETIME, read back timezone-aware. The repositories store UTC digits
    (persistence.sealing.utc_in), so the text with "+00:00" appended parses straight into
    an aware value, in one C call: SQLAlchemy's parse followed by `replace(tzinfo=UTC)` cost
    eight times as much, 70 µs a page of transactions."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        return _utc_from_text


def _utc_from_text(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value + "+00:00")
    except ValueError:  # text that names an offset of its own
        parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is UTC:  # what the repositories store
        return parsed
    if parsed.tzinfo is None:  # a date alone; its digits are UTC too, never the host's zone
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# The dialect's type has no annotations.
UTC_DATETIME = DateTime(timezone=True).with_variant(_SqliteUtcDateTime(), "sqlite")  # type: ignore[no-untyped-call]
"""A time column that reads back timezone-aware UTC on both engines (PostgreSQL's driver
hands back aware values already), for columns read many rows at a time; elsewhere the
repositories convert SQLite's naive values with `utc_out`, a microsecond a value."""


class _SqliteUuid(Uuid[UUID]):
    """SQLAlchemy's Uuid on SQLite (32 hexadecimal digits), read back by a shorter path.
    `UUID(hex)` strips braces, hyphens and the "urn:uuid:" prefix before it parses, a
    microsecond for each id; a page of transactions reads fifty. The stored text is the
    bare digits, so it goes straight to the integer `UUID` keeps (its `int` and `is_safe`
    slots, which `UUID.__init__` sets the same way)."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        return _uuid_from_hex


_new_object = object.__new__
_set_slot = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def _uuid_from_hex(value: str | None) -> UUID | None:
    if value is None:
        return None
    if len(value) == 32:  # for 32 characters, `UUID(value)` is `int(value, 16)` unchanged
        try:
            number = int(value, 16)
        except ValueError:
            number = -1
        if number >= 0:
            parsed = _new_object(UUID)
            _set_slot(parsed, "int", number)
            _set_slot(parsed, "is_safe", _UNKNOWN)
            return parsed
    return UUID(value)  # any other text: accepted or refused by UUID itself


UUID_KEY = Uuid().with_variant(_SqliteUuid(), "sqlite")
"""A UUID column read many rows at a time (a transaction's id): SQLAlchemy's `Uuid`, with
the shorter read on SQLite (`_SqliteUuid`)."""


ColumnConverter = Callable[[Sequence[Any]], list[Any]]
"""A column's result conversion applied to all of a result's values of that column."""


def column_converter(convert: Callable[[Any], Any]) -> ColumnConverter:
    """`convert` (a column type's result processor) for a whole column at once.

    SQLite hands back ids, dates and times as text, and a page of fifty transactions
    converts 150 of them. One Python call a value cost about a microsecond for an id; msgspec
    parses a column of ids or dates in one C call, a fifth of a microsecond a value. Where it
    refuses a value (text in another form that the processor still takes, or garbage), the
    column goes through `convert` value by value, so the result, or the error, is the
    processor's own."""
    bulk = _BULK.get(convert)
    if bulk is not None:
        return bulk
    return lambda values: [convert(value) for value in values]


def _parsed(column_type: Any, convert: Callable[[Any], Any]) -> ColumnConverter:
    def parse(values: Sequence[Any]) -> list[Any]:
        try:
            parsed: list[Any] = msgspec.convert(values, column_type)
        except msgspec.ValidationError:
            return [convert(value) for value in values]
        return parsed

    return parse


def _utc_column(values: Sequence[Any]) -> list[Any]:
    # `_utc_from_text`'s first step for every value: the stored UTC digits. A value it does
    # not take (NULL, a date alone, an offset of its own) sends the column the long way.
    try:
        return [_from_iso(value + "+00:00") for value in values]
    except (TypeError, ValueError):
        return [_utc_from_text(value) for value in values]


_from_iso = datetime.fromisoformat
_BULK: dict[Callable[[Any], Any], ColumnConverter] = {
    _uuid_from_hex: _parsed(list[UUID | None], _uuid_from_hex),
    processors.str_to_date: _parsed(list[date | None], processors.str_to_date),
    _utc_from_text: _utc_column,
}


def declare(
    category: DataCategory, retention: RetentionClass, *, sealed: bool = False
) -> dict[str, Any]:
    """The `info` every column carries: its data category, its retention class, and whether
    it holds a sealed value (ciphertext under the customer's key for that class)."""
    return {"category": category, "retention": retention, "sealed": sealed}


def sealed(category: DataCategory, retention: RetentionClass) -> dict[str, Any]:
    """`declare` for a column holding ciphertext."""
    return declare(category, retention, sealed=True)
