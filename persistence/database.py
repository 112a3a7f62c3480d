"""Engines and sessions for the two supported databases: SQLite (embedded) and PostgreSQL.

Every connection is configured the same way whoever opens it (the app, the worker, Alembic,
the tests), because the settings live in connect-time event listeners on the engine.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from persistence import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before failing (milliseconds)."""

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(url: str | URL) -> URL:
    """`url` with the async driver this project uses (`sqlite:` -> aiosqlite, `postgresql:` ->
    asyncpg), so operators may write the plain form. Raises ValueError for anything else."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )
    return parsed.set(drivername=driver)


def prepare_sqlite_file(url: str | URL) -> None:
    """For a SQLite database in a file: create its directory (owner-only when this makes
    it) and the empty database file, readable and writable by its owner only, unless it
    exists. SQLite would create the file with the process's default mode (readable by every
    user of the host under the usual umask), and gives its -wal and -shm files the mode of
    the database file. An existing file keeps the mode it has."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):  # a URI: SQLite opens it as it says
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def is_sqlite(url: str | URL) -> bool:
    """Whether `url` points at a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


READ_ONLY_OPTION = "custodian_read_only"
READ_SNAPSHOT_OPTION = "custodian_read_snapshot"
"""Execution option marking connections whose transactions only read (see `read_only`)."""


def read_only(engine: AsyncEngine, *, snapshot: bool = False) -> AsyncEngine:
    """`engine` (same pool) for units of work that only read.

    They run without a transaction block: each statement reads a consistent snapshot of its
    own (on PostgreSQL, READ COMMITTED gives each statement its own snapshot inside a block
    too), and the `BEGIN` of every read is saved. SQLite: no write lock is taken, so reads run
    beside each other and beside a writer (WAL); a unit that writes must not use this.
    PostgreSQL: autocommit, which also saves the `ROLLBACK`.

    `snapshot=True` keeps a transaction block, for a long read that must see one state of
    the database throughout (SQLite: a deferred `BEGIN`) or stream through a server-side
    cursor (PostgreSQL opens cursors only inside a block): the export.
    """
    if snapshot:
        return engine.execution_options(**{READ_ONLY_OPTION: True, READ_SNAPSHOT_OPTION: True})
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT", **{READ_ONLY_OPTION: True})
    return engine.execution_options(**{READ_ONLY_OPTION: True})


class WriteWhileReading(RuntimeError):
    """A read-only unit of work tried to write (a programming error: nothing was written)."""


_READING_STATEMENTS = ("SELECT", "WITH", "BEGIN", "SHOW", "PRAGMA")


def _refuse_writes_when_reading(engine: AsyncEngine) -> None:
    # Read-only units run without a transaction block, where a write would be committed at
    # once, whatever the unit did next: refuse it before it reaches the database.
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check(
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION) and not (
            statement.lstrip()[:6].upper().startswith(_READING_STATEMENTS)
        ):
            raise WriteWhileReading("a read-only unit of work may not write")


@asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of `engine`, given back to the pool in the calling task.

    `async with engine.connect()` closes the connection in a task of its own (so that a
    cancelled caller cannot abandon the close half-way), which costs two turns of the event
    loop: under load, tens of milliseconds on each statement's critical path. This is for
    callers that are cancelled only when the process shuts down (the audit flusher, the
    shared revocation lookup), where that protection buys nothing.
    """
    connection = await engine.connect()
    try:
        yield connection
    finally:
        await connection.close()


def make_engine(
    url: str | URL, *, enforce_foreign_keys: bool = True, pool_size: int = 20
) -> AsyncEngine:
    """An AsyncEngine for `url`, with this project's connection settings applied.

    SQLite: WAL journal, foreign keys enforced, a 30 s busy timeout, and every transaction
    opened with `BEGIN IMMEDIATE` (see `_configure_sqlite`) unless made with `read_only`.
    PostgreSQL: a fixed pool of `pool_size` connections (no overflow) for one
    process, idle connections pinged before use.
    `enforce_foreign_keys=False` is for migrations only (SQLite batch mode rebuilds tables,
    which must not cascade or fail half-way).
    """
    resolved = async_url(url)
    if resolved.get_backend_name() == "sqlite":
        # Each aiosqlite connection is a thread of its own: a fixed set of them, because
        # overflow connections (closed on return) made a busy server start a thread, open
        # the file and run the PRAGMAs for most requests.
        in_memory = resolved.database in (None, "", ":memory:")
        pool = {} if in_memory else {"pool_size": 10, "max_overflow": 0, "pool_timeout": 30}
        # One thread hop per statement instead of four (persistence.sqlite_driver).
        engine = create_async_engine(
            resolved, connect_args={"async_creator_fn": sqlite_driver.connect}, **pool
        )
        _configure_sqlite(engine, enforce_foreign_keys=enforce_foreign_keys)
        _refuse_writes_when_reading(engine)
        # An INSERT of many rows is sent as multi-row VALUES statements (SQLAlchemy's
        # "insertmanyvalues", up to 1,000 rows each) instead of the driver's executemany.
        # The sqlite3 module lets go of the interpreter lock around every row's step and
        # must win it back from the event loop's thread each time: under load that took up
        # to the 5 ms switch interval a row, so an audit batch of 200 events and their tree
        # nodes held the chain's write lock for seconds. One statement steps once.
        engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine
    engine = create_async_engine(
        resolved,
        # A fixed set of connections and no overflow: overflow connections are closed on
        # return, so under load (hundreds of concurrent requests) every request paid for a
        # new connection (TLS attempt, auth, cold statement cache) and throughput collapsed.
        # Requests beyond the pool wait their turn instead; each holds a connection only
        # while it reads or writes (the audit append of a read takes its own, briefly).
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "custodian"}},
    )
    _ping_when_idle(engine)
    _refuse_writes_when_reading(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 10.0
"""A pooled PostgreSQL connection unused this long is pinged before it is handed out."""


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pre-ping only connections that sat idle (instead of `pool_pre_ping` on every checkout,
    a round trip per request): a restarted server still does not surface as a failed
    request after a quiet spell, and a busy pool's connections are known to be alive."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure means: not usable
            raise exc.DisconnectionError("idle connection failed its ping") from error
        if not alive:
            raise exc.DisconnectionError("idle connection failed its ping")


def _configure_sqlite(engine: AsyncEngine, *, enforce_foreign_keys: bool) -> None:
    """Install the per-connection PRAGMAs and explicit transaction control on SQLite."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would BEGIN lazily and
        # late, and not at all around DDL); the "begin" listener below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if enforce_foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # WAL with synchronous=NORMAL is durable against application crashes; only an
            # OS crash or power loss can lose the last transactions (SQLite's own advice).
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(READ_ONLY_OPTION):
            # A unit that only reads (see `read_only`) takes no write lock: a deferred BEGIN
            # when it needs one snapshot throughout, else none (each statement reads a
            # snapshot of its own, as on PostgreSQL).
            if options.get(READ_SNAPSHOT_OPTION):
                connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock at the start: a deferred transaction that reads
        # first and writes later fails with SQLITE_BUSY instead of waiting when another writer
        # got there in between; taking the lock up front makes writers queue on busy_timeout.
        # (Reads use `read_only` and append their audit events via persistence.audit.batch.)
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to `engine`. Objects stay usable after commit (expire_on_commit=False),
    since entities are mapped to plain domain objects before a unit of work ends anyway."""
    return async_sessionmaker(engine, expire_on_commit=False)
