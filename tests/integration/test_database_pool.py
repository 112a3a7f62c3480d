"""Pool hygiene (persistence.database): PostgreSQL connections that sat idle are pinged
before use, so one that the server dropped meanwhile is replaced instead of failing a
request; busy connections are handed out without a ping. `connected` gives a connection
back on both engines."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

import persistence.database as database


async def _backend_pid(engine: object) -> int:
    async with engine.connect() as connection:  # type: ignore[attr-defined]
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar())


async def test_an_idle_connection_the_server_dropped_is_replaced(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.is_sqlite(db_url):
        pytest.skip("PostgreSQL pool only")
    engine = database.make_engine(db_url)
    admin = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        first = await _backend_pid(engine)
        assert await _backend_pid(engine) == first  # reused while busy

        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
        assert await _backend_pid(engine) == first  # pinged, alive: kept
        await admin.execute("SELECT pg_terminate_backend($1)", first)

        # Without the idle ping this query would fail on the dead connection.
        assert await _backend_pid(engine) != first
    finally:
        await admin.close()
        await engine.dispose()


async def test_connected_gives_the_connection_back_in_the_calling_task(engine: object) -> None:
    # `connected` closes without a task of its own; the connection still goes back to the
    # pool, also when the block raises.
    pool = engine.sync_engine.pool  # type: ignore[attr-defined]
    async with database.connected(engine) as connection:  # type: ignore[arg-type]
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        assert pool.checkedout() == 1
    assert pool.checkedout() == 0

    async def failing() -> None:
        async with database.connected(engine) as connection:  # type: ignore[arg-type]
            await connection.execute(text("SELECT 1"))
            raise RuntimeError("the caller's own failure")

    with pytest.raises(RuntimeError):
        await failing()
    assert pool.checkedout() == 0
