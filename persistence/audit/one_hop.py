"""Appending a batch of audit events on SQLite in one hop to the connection's thread.

The locked append (`SqlAuditSink.append_many`) is six statements: BEGIN IMMEDIATE, take the
head, insert the events, insert the tree nodes, record the new head, COMMIT. Through
SQLAlchemy and aiosqlite each of them is a hop to the connection's thread and back, and under
load each hop also waits for a turn of the busy event loop and for the interpreter lock, so a
batch took several milliseconds while every audited read in it waited.

`OneHopAppender` sends the whole batch to the connection's thread as one function
(`persistence.sqlite_driver.OneHopConnection.run`) that runs the same six statements with the
sqlite3 module: the same write lock (BEGIN IMMEDIATE, so other processes wait for it as
before), the same head, the same chain and tree nodes (`chain`), the same values as stored
through SQLAlchemy (its bind processors convert them), all or nothing. One hop a batch.

A batch in which a checkpoint falls due is rolled back unwritten and left to the locked path,
which signs it; so is a batch that finds the tree damaged (the locked path reports it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import AuditEvent, AuditRecord
from domain.audit.merkle import Frontier
from domain.clock import Clock
from persistence.audit.sink import chain, row_values
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow, AuditTreeNodeRow
from persistence.sqlite_driver import OneHopConnection

_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHeadRow.__table__  # type: ignore[assignment]
_NODES: Table = AuditTreeNodeRow.__table__  # type: ignore[assignment]

_ADVANCE_HEAD_BY = (
    f"UPDATE {_HEAD.name} SET seq = seq + ? WHERE id = {HEAD_ROW_ID} "  # noqa: S608 - constants
    "RETURNING seq, hash, frontier"
)
_RECORD_HEAD = f"UPDATE {_HEAD.name} SET hash = ?, frontier = ? WHERE id = {HEAD_ROW_ID}"  # noqa: S608


class _Insert:
    """INSERT of whole rows into `table`, each value converted as SQLAlchemy would bind it."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.names = tuple(column.name for column in table.columns)
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(self.names)}) "  # noqa: S608 - names only
            f"VALUES ({', '.join('?' for _ in self.names)})"
        )
        self._bind: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns
        ]

    def parameters(self, rows: Sequence[dict[str, object]]) -> list[tuple[Any, ...]]:
        return [
            tuple(
                value if bind is None or value is None else bind(value)
                for bind, value in zip(self._bind, (row[name] for name in self.names), strict=True)
            )
            for row in rows
        ]


class OneHopAppender:
    """One-hop appends on SQLite for `BatchingAuditLog` (see the module doc)."""

    def __init__(self, engine: AsyncEngine, clock: Clock, *, checkpoint_every: int) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("one-hop appends need SQLite")
        self._engine = engine
        self._clock = clock
        self._every = checkpoint_every
        self._events = _Insert(_EVENTS, engine.dialect)
        self._nodes = _Insert(_NODES, engine.dialect)
        self.appended = 0
        """Batches stored this way (for tests and benchmarks)."""

    def forget_head(self) -> None:
        """Nothing to forget: every batch reads the head under the write lock."""

    async def try_append(self, records: Sequence[AuditRecord]) -> list[AuditEvent] | None:
        """The stored events, or None when the caller must use the locked path (a
        checkpoint falls due in this batch, the tree is damaged, or the connection is not
        a `OneHopConnection`)."""
        async with self._engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            if not isinstance(driver, OneHopConnection):
                return None
            events: list[AuditEvent] | None = await driver.run(self._append, driver.sqlite, records)
        if events is not None:
            self.appended += 1
        return events

    def _append(  # on the SQLite thread
        self, sqlite: sqlite3.Connection, records: Sequence[AuditRecord]
    ) -> list[AuditEvent] | None:
        sqlite.execute("BEGIN IMMEDIATE")
        try:
            events = self._write(sqlite, records)
        except BaseException:
            sqlite.rollback()
            raise
        if events is None:
            sqlite.rollback()
        else:
            sqlite.commit()
        return events

    def _write(
        self, sqlite: sqlite3.Connection, records: Sequence[AuditRecord]
    ) -> list[AuditEvent] | None:
        head = sqlite.execute(_ADVANCE_HEAD_BY, (len(records),)).fetchone()
        if head is None:
            raise RuntimeError("the audit_head row is missing: run `custodian migrate`")
        last_seq, prev_hash, stored_frontier = head
        first_seq = last_seq - len(records) + 1
        if last_seq // self._every > (first_seq - 1) // self._every:
            return None  # a checkpoint and a signed tree head fall due: the locked path
        try:
            frontier = Frontier.decode(first_seq - 1, bytes(stored_frontier or b""))
        except ValueError:
            return None
        # Under the lock, as on the locked path: event times never go backwards.
        events, nodes = chain(records, first_seq, bytes(prev_hash), frontier, self._clock)
        sqlite.executemany(
            self._events.sql, self._events.parameters([row_values(e) for e in events])
        )
        try:
            sqlite.executemany(self._nodes.sql, self._nodes.parameters(nodes))
        except sqlite3.IntegrityError:
            return None  # tree nodes past the head: the locked path reports it
        sqlite.execute(_RECORD_HEAD, (events[-1].hash, frontier.encode()))
        return events
