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

A reading unit whose session has not been used yet does not make it take a connection
(`rows_in`): the read takes one from the engine's pool for itself and puts it back when it
has its rows. Taking the session's connection, opening its transaction bookkeeping and
closing both cost about 100 µs more than the pool's checkout and checkin alone, and a
profile or a page is the unit's only statement. The session stays unconnected, so a unit
never holds two connections: a later statement through the session takes the session's
own, after the read has put its connection back. A connection the driver failed on, or
whose read was cancelled midway, is invalidated instead of put back; the read then goes
through the session (above), which replaces a lost connection and reads again.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.pool import Pool
from sqlalchemy.util import greenlet_spawn

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
        "_converters",
        "_defaults",
        "_driver",
        "_names",
        "_required",
        "_row",
        "_sql",
        "_statement",
        "_width",
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
        # Each converted column: its index, its conversion of one value, and of all of them.
        self._converters: list[tuple[int, _Convert, ColumnConverter]] = []
        for index, column in enumerate(statement.selected_columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                self._converters.append((index, convert, column_converter(convert)))
        self._width = len(statement.selected_columns)
        row_type = namedtuple("Row", list(statement.selected_columns.keys()), rename=True)  # type: ignore[misc]
        self._row: Callable[[Any], Any] = row_type._make

    async def rows_in(
        self, session: AsyncSession, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The statement's rows with `parameters` bound, read for `session`.

        A reading unit's session that holds no connection yet (it has not been used) does
        not take one: the read takes a connection from the pool for itself alone and puts
        it back at once. A unit that reads once (a profile, a page) skips the session's
        connection and transaction bookkeeping, about 100 µs. Any other session reads on
        its own connection (`rows`)."""
        raw = await self._read_alone(session, parameters)
        if raw is not None:
            return self._rows_of(raw)
        return await self.rows(await session.connection(), parameters)

    async def columns_in(
        self, session: AsyncSession, parameters: Mapping[str, Any]
    ) -> list[Sequence[Any]]:
        """`rows_in`, column by column: for each selected column in order, its values in
        the rows' order (each empty when no row matched). A page that takes its rows
        apart anyway skips making a row object of each."""
        raw = await self._read_alone(session, parameters)
        if raw is not None:
            return self._columns_of(raw)
        rows = await self.rows(await session.connection(), parameters)
        return list(zip(*rows, strict=True)) if rows else [()] * self._width

    async def _read_alone(
        self, session: AsyncSession, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]] | None:
        """The driver's rows read on a connection of their own when `session` may skip
        its own (see `rows_in`); None when it may not, or when that read failed."""
        engine = session.bind
        if (
            self._driver is not None
            and isinstance(engine, AsyncEngine)
            and not session.in_transaction()
            and _reads_alone(engine.sync_engine.get_execution_options())
            and self._required.issubset(parameters)  # else SQLAlchemy names what is missing
        ):
            return await self._leased_read(engine.sync_engine.pool, parameters)
        return None

    async def rows(
        self, connection: AsyncConnection, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The statement's rows with `parameters` bound, read on `connection`."""
        synced = connection.sync_connection
        if (
            self._driver is not None
            and synced is not None
            and not (synced.closed or synced.invalidated)
            and _reads_alone(synced.get_execution_options())
            and self._required.issubset(parameters)  # else SQLAlchemy names what is missing
        ):
            # The connection is checked out and valid: its driver connection is at hand,
            # without the greenlet hop of `AsyncConnection.get_raw_connection`.
            try:
                raw = await self._fetch(synced.connection.driver_connection, parameters)
            except Exception:  # noqa: BLE001, S110 - reported by SQLAlchemy's own path below
                pass
            else:
                return self._rows_of(raw)
        rows: Sequence[Sequence[Any]] = (
            await connection.execute(self._statement, parameters)
        ).all()
        return rows

    async def _leased_read(
        self, pool: Pool, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]] | None:
        """The driver's rows, read on a connection taken from `pool` for this read and put
        back after it. None when the pool or the driver failed: the caller reads again
        through its session, and SQLAlchemy reports what failed as it always does. A
        connection the driver failed on is invalidated, not put back: it may be lost."""
        try:
            leased = await greenlet_spawn(pool.connect)
        except Exception:  # noqa: BLE001 - reported by the session's read
            return None
        try:
            raw = await self._fetch(leased.driver_connection, parameters)
        except BaseException as error:
            await greenlet_spawn(leased.invalidate)
            if isinstance(error, Exception):
                return None
            raise  # cancelled: the read is abandoned, its connection not reused
        await greenlet_spawn(leased.close)
        return raw

    async def _fetch(self, driver: Any, parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        values = {**self._defaults, **parameters}
        arguments = [
            convert(values[name]) if (convert := self._binds.get(name)) else values[name]
            for name in self._names
        ]
        if isinstance(driver, OneHopConnection):
            rows: Sequence[Sequence[Any]] = await driver.fetch_all(self._sql, arguments)
            return rows
        # asyncpg: its own prepared-statement cache, keyed by the text
        return await driver.fetch(self._sql, *arguments)  # type: ignore[no-any-return]

    def _rows_of(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make = self._row
        if not self._converters or not raw:
            return [make(row) for row in raw]
        if len(raw) == 1:  # a profile: converted in place, cheaper than turning it into columns
            values = list(raw[0])
            for index, convert, _ in self._converters:
                values[index] = convert(values[index])
            return [make(values)]
        return [make(row) for row in zip(*self._columns_of(raw), strict=True)]

    def _columns_of(self, raw: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        if not raw:
            return [()] * self._width
        # Column by column: each conversion takes all of its column's values in one call.
        columns: list[Sequence[Any]] = list(zip(*raw, strict=True))
        for index, _, convert_column in self._converters:
            columns[index] = convert_column(columns[index])
        return columns


def _reads_alone(options: Mapping[str, Any]) -> bool:
    """Whether a connection with these execution options belongs to a reading unit without
    a transaction block (persistence.database.read_only, no `snapshot`)."""
    return bool(options.get(READ_ONLY_OPTION)) and not options.get(READ_SNAPSHOT_OPTION)


@lru_cache(maxsize=64)
def driver_read(statement: Select[Any], dialect: Dialect) -> DriverRead:
    """`statement` compiled for `dialect`, once for each pair (statements are module-level
    or cached, dialects one per engine)."""
    return DriverRead(statement, dialect)
