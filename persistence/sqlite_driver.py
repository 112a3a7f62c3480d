"""SQLite through aiosqlite with one thread hop per statement.

aiosqlite runs each connection's sqlite3 calls on a thread of its own; every call is a hop:
the event loop queues it, the thread wakes, runs it under the interpreter lock and wakes the
loop again. SQLAlchemy's adapter makes four of them per statement (open a cursor, execute,
fetch, close) and two more when a connection goes back to the pool (two rollbacks that have
nothing to roll back), so a one-statement read cost six hops, and under load the hops, not
SQLite, were most of a read's cost.

`OneHopConnection` is an aiosqlite connection whose cursors execute and fetch the first rows
in one hop, open no cursor and close none in a hop of their own, and whose commit and
rollback skip the hop when no transaction is open. A result larger than `PREFETCH_ROWS`
stays on its cursor and is fetched as asked (a streamed export still holds one batch at a
time).

Short reads take no hop at all. A hop costs more than an indexed read of a page: the thread
must be woken and the result handed back, and each side waits for the interpreter lock that
the other holds (under load, a 50-row page spent more time in the hand-over than in SQLite).
A statement marked with `short_read` (its cost bounded by an index and a page limit: a
profile, a page of transactions) runs on the event loop's own thread when
- the database is in WAL mode, where a reader never waits for a writer or for the write
  lock (only while another connection recovers the WAL after a crash can a reader be kept
  waiting); a database in another journal mode gets no short reads, and
- nothing is queued or running on the connection's thread (a cancelled caller's last
  statement may still be running there), so the sqlite3 connection is used by one thread at
  a time.
Everything else (writes, which may wait for the write lock, BEGIN IMMEDIATE, COMMIT, every
unmarked read, and the fetches of a result larger than `PREFETCH_ROWS`) runs on the
connection's own thread, except the read-audit batch (persistence.audit.one_trip), which
runs on the loop's thread under the same conditions when it can take the write lock without
waiting. The loop's thread also reads `in_transaction` between statements; the connection is
opened with `check_same_thread=False` for all of these.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Generator, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import Select

PREFETCH_ROWS = 256
"""Rows fetched with the statement; the rest of a larger result is fetched when asked."""

SHORT_READ = "/* short read */"
"""The comment that `short_read` puts at the end of a SELECT (module doc)."""

_Select = TypeVar("_Select", bound="Select[*tuple[Any, ...]]")


def short_read(statement: _Select) -> _Select:
    """`statement`, marked as a read that may run on the event loop's thread on SQLite (see
    the module doc): for reads bounded by an index and a page limit only. Other databases
    see no mark."""
    return statement.with_statement_hint(SHORT_READ, dialect_name="sqlite")


class OneHopCursor:
    """What SQLAlchemy uses of `aiosqlite.Cursor`, with `execute` one hop (module doc)."""

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None  # open only while rows remain on it
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def __await__(self) -> Generator[Any, None, OneHopCursor]:
        return self._opened().__await__()

    async def _opened(self) -> OneHopCursor:
        return self

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._each()

    async def _each(self) -> AsyncIterator[Any]:
        while True:
            rows = await self.fetchmany(PREFETCH_ROWS)
            if not rows:
                return
            for row in rows:
                yield row

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> OneHopCursor:
        """Run `sql` and fetch up to `PREFETCH_ROWS` of its rows, in one hop (in none for a
        short read, see the module doc)."""
        await self.close()
        if sql.endswith(SHORT_READ) and await self._connection.runs_here():
            self._execute(sql, parameters)
        else:
            await self._connection.run(self._execute, sql, parameters)
        return self

    def _execute(self, sql: str, parameters: Sequence[Any]) -> None:  # on one thread at a time
        cursor = self._connection.sqlite.cursor()
        try:
            cursor.execute(sql, parameters)
            self.description = cursor.description
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
            self._rows = cursor.fetchmany(PREFETCH_ROWS) if cursor.description else []
        except BaseException:
            cursor.close()
            raise
        if self.description is not None and len(self._rows) == PREFETCH_ROWS:
            self._cursor = cursor  # more rows may follow
        else:
            cursor.close()

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneHopCursor:
        """Run `sql` once for each parameter set, in one hop."""
        await self.close()
        await self._connection.run(self._execute_many, sql, parameters)
        return self

    def _execute_many(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        cursor = self._connection.sqlite.cursor()
        try:
            cursor.executemany(sql, parameters)
            self.description = None
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
            self._rows = []
        finally:
            cursor.close()

    async def fetchone(self) -> Any:
        """The next row, or None."""
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` (default `arraysize`) more rows."""
        wanted = size or self.arraysize
        if len(self._rows) < wanted and self._cursor is not None:
            self._rows += await self._connection.run(self._fetch, wanted - len(self._rows))
        taken, self._rows = self._rows[:wanted], self._rows[wanted:]
        return taken

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        if self._cursor is not None:
            self._rows += await self._connection.run(self._fetch, None)
        taken, self._rows = self._rows, []
        return taken

    def _fetch(self, size: int | None) -> list[Any]:  # on the SQLite thread
        cursor = self._cursor
        if cursor is None:
            return []
        rows = cursor.fetchall() if size is None else cursor.fetchmany(max(size, PREFETCH_ROWS))
        if size is None or len(rows) < max(size, PREFETCH_ROWS):
            cursor.close()
            self._cursor = None
        return rows

    async def close(self) -> None:
        """Forget the rows; close the sqlite3 cursor if rows were left on it (one hop)."""
        self._rows = []
        if self._cursor is not None:
            await self._connection.run(self._close)

    def _close(self) -> None:  # on the SQLite thread
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection with `OneHopCursor` cursors (see the module doc)."""

    def __init__(self, connector: Any, iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._sent = 0  # functions queued for the thread (counted on the loop's thread)
        self._finished = 0  # of which finished (counted on the connection's thread)
        self._wal: bool | None = None  # the journal mode is WAL (asked on the first read)

    async def runs_here(self) -> bool:
        """Whether a statement that cannot wait (a short read) may run on the calling (event
        loop's) thread now: the database is in WAL mode and the connection's thread has
        nothing to do."""
        if self._wal is None:
            self._wal = await self.run(_in_wal_mode, self._conn)
        return self._wal and self._finished == self._sent

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")

        def counted() -> Any:  # on the connection's thread
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1

        self._sent += 1
        return await super()._execute(counted)  # type: ignore[no-untyped-call]

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection: only for code running on its thread (`run`), and for a
        short read or the read-audit batch when `runs_here` allows it."""
        return self._conn

    async def fetch_all(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """Every row of `sql`, in one hop (in none for a short read, see the module doc)."""
        if sql.endswith(SHORT_READ) and await self.runs_here():
            return _fetch_all(self._conn, sql, parameters)
        rows: list[Any] = await self.run(_fetch_all, self._conn, sql, parameters)
        return rows

    async def run(self, function: Any, *args: Any) -> Any:
        """`function(*args)` on the connection's thread."""
        return await self._execute(function, *args)

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        """A cursor; opening it costs no hop."""
        return OneHopCursor(self)

    async def commit(self) -> None:
        """Commit the open transaction; without one, nothing to do and no hop."""
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        """Roll back the open transaction; without one, nothing to do and no hop."""
        if self._conn.in_transaction:
            await super().rollback()


def _fetch_all(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> list[Any]:
    return connection.execute(sql, parameters).fetchall()


def _in_wal_mode(connection: sqlite3.Connection) -> bool:  # on the SQLite thread
    mode = connection.execute("PRAGMA journal_mode").fetchone()
    return mode is not None and str(mode[0]).lower() == "wal"


def connect(database: str, **kwargs: Any) -> OneHopConnection:
    """A `OneHopConnection` to `database` (SQLAlchemy's `async_creator_fn`), not yet open:
    SQLAlchemy awaits it."""
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        opened: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return opened

    connection = OneHopConnection(connector, iter_chunk_size=64)
    # Like SQLAlchemy's own aiosqlite connections: a thread that never holds up an exit.
    connection._thread.daemon = True
    return connection
