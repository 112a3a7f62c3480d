"""The resource guard's per-request question, "was this token's family or the token itself
revoked?", answered on a read-only path.

On SQLite every unit of work begins with BEGIN IMMEDIATE (it takes the write lock, see
persistence.database), so a guard check through one would queue behind every writer, and
a sign-in flood (each failure writes a throttle row and an audit event) would stall every
protected request. WAL readers need no lock, so SQLite gets a small engine of its own whose
transactions begin DEFERRED. PostgreSQL readers never block on writers: the main engine is
used as it is.

The question is a short read (persistence.sqlite_driver): two lookups by key. On SQLite it
runs on the event loop's thread; through the connection's thread it took six hand-overs,
each waiting for a turn of a loaded loop, and every request of a token waited for it once a
second.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import bindparam, event, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from persistence import sqlite_driver
from persistence.database import SQLITE_BUSY_TIMEOUT_MS, async_url, connected, is_sqlite
from persistence.oauth.tokens import GrantRow, RevokedAccessTokenRow
from persistence.sqlite_driver import short_read

# Built once: (is the family live?, is the token revoked?).
_REVOKED = short_read(
    select(
        exists().where(GrantRow.id == bindparam("grant_id"), GrantRow.revoked_at.is_(None)),
        exists().where(RevokedAccessTokenRow.jti == bindparam("jti")),
    )
)


def reader_engine(url: str, main: AsyncEngine) -> AsyncEngine:
    """An engine for lock-free reads: a DEFERRED-transaction engine on SQLite, else `main`."""
    if not is_sqlite(url):
        return main
    engine = create_async_engine(
        async_url(url), connect_args={"async_creator_fn": sqlite_driver.connect}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA query_only=ON")
        finally:
            cursor.close()

    return engine


class RevocationReader:
    """An async predicate: is the family `grant_id` revoked (or unknown), or the token `jti`?

    `aclose` releases the reader engine when it is one of its own (SQLite).
    """

    def __init__(self, url: str, main: AsyncEngine) -> None:
        self._engine = reader_engine(url, main)
        self._owned = self._engine is not main

    async def __call__(self, grant_id: UUID, jti: str) -> bool:
        """True when the token must be refused."""
        async with connected(self._engine) as connection:
            row = (await connection.execute(_REVOKED, {"grant_id": grant_id, "jti": jti})).one()
        return (not row[0]) or bool(row[1])

    async def aclose(self) -> None:
        """Close the reader's connections (at application shutdown)."""
        if self._owned:
            await self._engine.dispose()
