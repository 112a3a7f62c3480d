"""Appending a batch of audit events in one trip to the database, when nobody else did.

The locked append (`SqlAuditSink.append_many`) costs six trips: BEGIN, take the head, insert
the events, insert the tree nodes, record the new head, COMMIT. Under load each of them also
waits for a turn of a busy event loop (when a batch commits, its hundred waiting requests
all resume in the next turn), so a batch took tens of milliseconds and every audited read
waited for one. Most batches, though, follow this process's own previous batch: the head it
left is still the head.

`OneTripAppender` remembers the head this process last wrote (seq, hash, frontier), chains
the batch onto it in memory, and stores it in one trip:
- PostgreSQL: ONE statement, atomic without a transaction block:

      WITH head AS (UPDATE audit_head SET seq, hash, frontier = <new>
                    WHERE seq = <remembered> AND hash = <remembered> RETURNING seq),
           events AS (INSERT INTO audit_events SELECT <batch> WHERE EXISTS (SELECT FROM head)),
           nodes AS (INSERT INTO audit_tree_nodes SELECT <nodes> WHERE EXISTS (SELECT FROM head))
      SELECT count(*) FROM head

- SQLite (no data-modifying WITH): one hop to the connection's thread, which runs BEGIN
  IMMEDIATE, the same conditional UPDATE of the head, one multi-row INSERT of the events and
  one of the nodes, and COMMIT, or ROLLBACK when the head had moved.

If another process or a data change's transaction moved the head meanwhile, the UPDATE
matches nothing (PostgreSQL re-checks the condition on the row another writer committed;
SQLite's BEGIN IMMEDIATE waits for that writer first), nothing is inserted, and the appender
reads the head and tries once more; after that the caller uses the locked path. The chain
and tree stay exactly what the locked path builds: same hashes, same nodes, consecutive
seqs, the head moved with its events or not at all. A batch in which a checkpoint falls due
is left to the locked path, which signs it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import AuditEvent, AuditRecord
from domain.audit.merkle import Frontier
from domain.clock import Clock
from persistence.audit.sink import chain, row_values
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow, AuditTreeNodeRow
from persistence.database import SQLITE_BUSY_TIMEOUT_MS, connected
from persistence.sqlite_driver import OneHopConnection

_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHeadRow.__table__  # type: ignore[assignment]
_NODES: Table = AuditTreeNodeRow.__table__  # type: ignore[assignment]
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.frontier).where(_HEAD.c.id == HEAD_ROW_ID)


@dataclass(frozen=True, slots=True)
class _Head:
    seq: int
    hash: bytes
    frontier: bytes


class OneTripAppender:
    """One-trip appends for `BatchingAuditLog` on PostgreSQL and SQLite (see the module doc)."""

    def __init__(self, engine: AsyncEngine, clock: Clock, *, checkpoint_every: int) -> None:
        self._sqlite = engine.dialect.name == "sqlite"
        if not self._sqlite and engine.dialect.name != "postgresql":
            raise ValueError("one-trip appends need PostgreSQL or SQLite")
        # PostgreSQL: the statement is atomic on its own, no BEGIN/COMMIT round trips. SQLite:
        # the hop runs its own BEGIN IMMEDIATE and COMMIT on the raw connection.
        self._engine = (
            engine if self._sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._rows = _SqliteRows(engine.dialect) if self._sqlite else None
        self._clock = clock
        self._every = checkpoint_every
        self._head: _Head | None = None
        self.appended = 0
        """Batches stored this way (for tests and benchmarks)."""

    def forget_head(self) -> None:
        """Read the head again before the next attempt (after a locked append, say)."""
        self._head = None

    async def try_append(self, records: Sequence[AuditRecord]) -> list[AuditEvent] | None:
        """The stored events, or None when the caller must use the locked path (the head
        kept moving, or a checkpoint falls due in this batch)."""
        for _ in range(2):
            head = self._head or await self._read_head()
            if (head.seq + len(records)) // self._every > head.seq // self._every:
                return None
            try:
                frontier = Frontier.decode(head.seq, head.frontier)
            except ValueError:
                return None  # a damaged tree: the locked path reports it (AuditLogBroken)
            events, nodes = chain(records, head.seq + 1, head.hash, frontier, self._clock)
            after = _Head(events[-1].seq, events[-1].hash, frontier.encode())
            store = self._store_sqlite if self._sqlite else self._store_postgresql
            try:
                moved = await store(head, after, events, nodes)
            except (IntegrityError, sqlite3.IntegrityError):
                # Tree nodes past the head (events removed from the log): nothing was stored,
                # and the locked path reports it (AuditLogBroken).
                self._head = None
                return None
            if moved:
                self._head = after
                self.appended += 1
                return events
            self._head = None
        return None

    async def _store_postgresql(
        self, before: _Head, after: _Head, events: list[AuditEvent], nodes: list[dict[str, object]]
    ) -> bool:
        async with connected(self._engine) as connection:
            moved = await connection.execute(_APPEND, _parameters(before, after, events, nodes))
            return bool(moved.scalar())

    async def _store_sqlite(
        self, before: _Head, after: _Head, events: list[AuditEvent], nodes: list[dict[str, object]]
    ) -> bool:
        assert self._rows is not None
        head = (after.seq, after.hash, after.frontier, before.seq, before.hash)
        event_rows = [self._rows.event(row_values(event)) for event in events]
        node_rows = [self._rows.node(node) for node in nodes]
        async with connected(self._engine) as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert isinstance(driver, OneHopConnection)
            # What lets a short read run on the loop's thread lets this write run there too:
            # WAL mode (it blocks no reader) and nothing running on the connection's thread.
            # It never waits for the lock there (see _append_on_sqlite). Its COMMIT is a
            # write of the WAL without fsync (synchronous=NORMAL), except when it crosses the
            # WAL's checkpoint size (every 1,000 pages, some 4 MB): that commit also
            # checkpoints, and holds the loop for it (25-45 ms measured on this project's
            # machines).
            if await driver.runs_here():
                moved = _append_on_sqlite(False, driver.sqlite, head, event_rows, node_rows)
                if moved is not None:
                    return moved
            waited: bool = await driver.run(
                _append_on_sqlite, True, driver.sqlite, head, event_rows, node_rows
            )
            return waited

    async def _read_head(self) -> _Head:
        async with connected(self._engine) as connection:
            row = (await connection.execute(_READ_HEAD)).one_or_none()
        if row is None:
            raise RuntimeError("the audit_head row is missing: run `custodian migrate`")
        return _Head(int(row.seq), bytes(row.hash), bytes(row.frontier or b""))


# Fixed text, whatever the batch size (the rows travel as arrays), so PostgreSQL and the
# driver prepare it once per connection.
_EVENT_COLUMNS = (
    ("seq", "bigint"),
    ("id", "uuid"),
    ("at", "timestamptz"),
    ("actor_type", "varchar"),
    ("actor_id", "varchar"),
    ("actor_role", "varchar"),
    ("client_id", "varchar"),
    ("subject_id", "uuid"),
    ("action", "varchar"),
    ("resource_type", "varchar"),
    ("resource_id", "varchar"),
    ("fields", "text"),
    ("purpose", "varchar"),
    ("outcome", "varchar"),
    ("request_id", "varchar"),
    ("prev_hash", "bytea"),
    ("hash", "bytea"),
)
_NODE_COLUMNS = (("level", "smallint"), ("idx", "bigint"), ("hash", "bytea"))


def _unnest(columns: tuple[tuple[str, str], ...], first: int) -> str:
    arrays = ", ".join(f"CAST(:p{first + i} AS {kind}[])" for i, (_, kind) in enumerate(columns))
    names = ", ".join(name for name, _ in columns)
    return f"({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 - constants only


_HEAD_PARAMS = 5
_APPEND = text(
    f"""
    WITH head AS (
        UPDATE {_HEAD.name} SET seq = :p0, hash = :p1, frontier = :p2
        WHERE id = {HEAD_ROW_ID} AND seq = :p3 AND hash = :p4
        RETURNING seq
    ), stored_events AS (
        INSERT INTO {_EVENTS.name} {_unnest(_EVENT_COLUMNS, _HEAD_PARAMS)}
        WHERE EXISTS (SELECT FROM head)
    ), stored_nodes AS (
        INSERT INTO {_NODES.name} {_unnest(_NODE_COLUMNS, _HEAD_PARAMS + len(_EVENT_COLUMNS))}
        WHERE EXISTS (SELECT FROM head)
    )
    SELECT count(*) FROM head
    """  # noqa: S608 - table names and placeholders only; every value is a bound parameter
)


def _parameters(
    before: _Head, after: _Head, events: list[AuditEvent], nodes: list[dict[str, object]]
) -> dict[str, object]:
    rows = [row_values(event) for event in events]
    values: list[object] = [after.seq, after.hash, after.frontier, before.seq, before.hash]
    values += [[row[name] for row in rows] for name, _ in _EVENT_COLUMNS]
    values += [[node[name] for node in nodes] for name, _ in _NODE_COLUMNS]
    return {f"p{i}": value for i, value in enumerate(values)}


# SQLite: the batch's statements, run together on one thread (the loop's or the connection's,
# see OneTripAppender._store_sqlite). Each INSERT is
# one statement of many rows: the sqlite3 module lets go of the interpreter lock around every
# step, and under load winning it back from the event loop's thread took up to the 5 ms
# switch interval, so a statement per row held the write lock for a second a batch.
_SQLITE_MOVE_HEAD = (
    f"UPDATE {_HEAD.name} SET seq = ?, hash = ?, frontier = ? "  # noqa: S608 - constants only
    f"WHERE id = {HEAD_ROW_ID} AND seq = ? AND hash = ?"
)
_SQLITE_ROWS_PER_INSERT = 500
"""At most 17 x 500 parameters a statement, well inside SQLite's limit of 32,766."""


@cache
def _sqlite_insert(table: str, columns: tuple[str, ...], rows: int) -> str:
    placeholders = "(" + ", ".join("?" * len(columns)) + ")"
    values = ", ".join([placeholders] * rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608 - constants only


def _append_on_sqlite(
    wait: bool,
    connection: sqlite3.Connection,
    head: tuple[object, ...],
    events: list[tuple[object, ...]],
    nodes: list[tuple[object, ...]],
) -> bool | None:
    """Store the batch if the head is still `head`'s remembered one: True when stored,
    False when the head had moved. Without `wait` (on the event loop's thread) the write
    lock is taken only if it is free at once, else None and nothing was done."""
    if wait:
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return None  # another writer holds the lock: wait for it on the connection's thread
        finally:
            connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    try:
        if connection.execute(_SQLITE_MOVE_HEAD, head).rowcount != 1:
            connection.execute("ROLLBACK")
            return False
        for table, columns, rows in (
            (_EVENTS.name, _EVENT_NAMES, events),
            (_NODES.name, _NODE_NAMES, nodes),
        ):
            for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
                chunk = rows[start : start + _SQLITE_ROWS_PER_INSERT]
                flat = [value for row in chunk for value in row]
                connection.execute(_sqlite_insert(table, columns, len(chunk)), flat)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return True


_EVENT_NAMES = tuple(name for name, _ in _EVENT_COLUMNS)
_NODE_NAMES = tuple(name for name, _ in _NODE_COLUMNS)


class _SqliteRows:
    """Row values as SQLite stores them: each column's own conversion (a UUID as 32 hex
    digits, a time as its text), so these rows equal the ones SQLAlchemy would write."""

    def __init__(self, dialect: Dialect) -> None:
        self._events = _converters(_EVENTS, _EVENT_NAMES, dialect)
        self._nodes = _converters(_NODES, _NODE_NAMES, dialect)

    def event(self, values: dict[str, object]) -> tuple[object, ...]:
        return _convert(self._events, values)

    def node(self, values: dict[str, object]) -> tuple[object, ...]:
        return _convert(self._nodes, values)


_Converter = tuple[str, Any]


def _converters(table: Table, names: tuple[str, ...], dialect: Dialect) -> list[_Converter]:
    return [
        (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
    ]


def _convert(converters: list[_Converter], values: dict[str, object]) -> tuple[object, ...]:
    return tuple(
        values[name] if process is None or values[name] is None else process(values[name])
        for name, process in converters
    )
