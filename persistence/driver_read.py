"""Hot reads run on the driver's own connection, past SQLAlchemy's execution and result layers.

A profile or a page of transactions is one SELECT. Through `AsyncConnection.execute` it
pays for an execution context, the greenlet hand-over, a cursor wrapper and a `Row` per row,
on top of the statement: on PostgreSQL a page of fifty took 574-639 µs of process time that
way and 296-347 µs through asyncpg's own `fetch` (side by side, in one run). `DriverRead`
keeps SQLAlchemy for what it does once: the statement is built with it and compiled by the
connection's dialect, and the bind and result conversions are the column types' own, so the
rows hold the same values. Only the per-call work is skipped.

It is used where it is safe to step past the session:
- in read-only units of work only (persistence.database.read_only, without `snapshot`),
  where each statement reads a snapshot of its own and there is no transaction block to
  stay inside; anywhere else the statement goes through SQLAlchemy as usual;
- any error of the driver sends the statement through SQLAlchemy once more, which reports
  it as it always does (a lost connection invalidated and wrapped, so the API answers 503).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.base import ColumnConverter, column_converter
from persistence.database import READ_ONLY_OPTION, READ_SNAPSHOT_OPTION
from persistence.sqlite_driver import OneHopConnection

_Convert = Callable[[Any], Any]
_DRIVERS = ("aiosqlite", "asyncpg")
"""The drivers a read runs on directly (persistence.database makes engines of these two)."""


class DriverRead:
    """One SELECT compiled once for one dialect, run on the driver's connection (module doc).

    Its rows support what SQLAlchemy's do for a reader: indexing (also from the end),
    unpacking and attribute access by column name."""

    __slots__ = (
        "_binds",
        "_column_converters",
        "_converters",
        "_defaults",
        "_driver",
        "_names",
        "_required",
        "_row",
        "_sql",
        "_statement",
    )

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        binds = compiled.binds
        if (
            compiled.positiontup is None
            or compiled.escaped_bind_names
            or compiled.literal_execute_params
            or compiled.post_compile_params
            or any(binds[name].expanding for name in compiled.positiontup)
        ):
            raise ValueError("a driver read takes positional parameters given as they are")
        self._statement = statement
        self._driver = dialect.driver if dialect.driver in _DRIVERS else None
        self._sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup)
        self._defaults: dict[str, Any] = dict(compiled.params)
        self._required = frozenset(name for name in self._names if binds[name].required)
        self._binds: dict[str, _Convert] = {}
        for name in set(self._names):
            convert = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                self._binds[name] = convert
        self._converters: list[tuple[int, _Convert]] = []
        self._column_converters: list[tuple[int, ColumnConverter]] = []
        for index, column in enumerate(statement.selected_columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                self._converters.append((index, convert))
                self._column_converters.append((index, column_converter(convert)))
        row_type = namedtuple("Row", list(statement.selected_columns.keys()), rename=True)  # type: ignore[misc]
        self._row: Callable[[Any], Any] = row_type._make

    async def rows(
        self, connection: AsyncConnection, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The statement's rows with `parameters` bound, read on `connection`."""
        synced = connection.sync_connection
        if (
            self._driver is not None
            and synced is not None
            and not (synced.closed or synced.invalidated)
            and synced.get_execution_options().get(READ_ONLY_OPTION)
            and not synced.get_execution_options().get(READ_SNAPSHOT_OPTION)
            and self._required.issubset(parameters)  # else SQLAlchemy names what is missing
        ):
            # The connection is checked out and valid: its driver connection is at hand,
            # without the greenlet hop of `AsyncConnection.get_raw_connection`.
            driver: Any = synced.connection.driver_connection
            values = {**self._defaults, **parameters}
            arguments = [
                convert(values[name]) if (convert := self._binds.get(name)) else values[name]
                for name in self._names
            ]
            try:
                if isinstance(driver, OneHopConnection):
                    raw: Sequence[Sequence[Any]] = await driver.fetch_all(self._sql, arguments)
                else:  # asyncpg: its own prepared-statement cache, keyed by the text
                    raw = await driver.fetch(self._sql, *arguments)
            except Exception:  # noqa: BLE001, S110 - reported by SQLAlchemy's own path below
                pass
            else:
                return self._rows_of(raw)
        rows: Sequence[Sequence[Any]] = (
            await connection.execute(self._statement, parameters)
        ).all()
        return rows

    def _rows_of(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make = self._row
        if not self._converters or not raw:
            return [make(row) for row in raw]
        if len(raw) == 1:  # a profile: converted in place, cheaper than turning it into columns
            values = list(raw[0])
            for index, convert in self._converters:
                values[index] = convert(values[index])
            return [make(values)]
        # Column by column: each conversion takes all of its column's values in one call.
        columns: list[Sequence[Any]] = list(zip(*raw, strict=True))
        for index, convert_column in self._column_converters:
            columns[index] = convert_column(columns[index])
        return [make(row) for row in zip(*columns, strict=True)]


@lru_cache(maxsize=64)
def driver_read(statement: Select[Any], dialect: Dialect) -> DriverRead:
    """`statement` compiled for `dialect`, once for each pair (statements are module-level
    or cached, dialects one per engine)."""
    return DriverRead(statement, dialect)
