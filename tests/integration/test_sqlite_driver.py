"""The SQLite driver (persistence.sqlite_driver): one thread hop per statement, none for a
short read, results of any size read whole or streamed, transactions that commit and roll
back as before."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, select, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence import sqlite_driver
from persistence.database import make_engine, read_only
from persistence.sqlite_driver import short_read

ROWS = 3 * sqlite_driver.PREFETCH_ROWS + 7


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE items (n INTEGER PRIMARY KEY, label TEXT)"))
        await connection.execute(
            text("INSERT INTO items VALUES (:n, :label)"),
            [{"n": n, "label": f"item {n}"} for n in range(ROWS)],
        )
    yield engine
    await engine.dispose()


async def test_a_read_outside_a_transaction_is_one_hop(
    engine: AsyncEngine, hops: list[Any]
) -> None:
    async with read_only(engine, snapshot=False).connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection is open and warm
        hops.clear()
        label = (await connection.execute(text("SELECT label FROM items WHERE n = 5"))).scalar()
    assert label == "item 5"
    # The statement; no cursor opened or closed, no rollback on the way back to the pool.
    assert len(hops) == 1


async def test_results_beyond_the_prefetch_are_read_whole(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT n FROM items ORDER BY n"))).all()
    assert [n for (n,) in rows] == list(range(ROWS))


async def test_a_streamed_result_is_fetched_a_batch_at_a_time(
    engine: AsyncEngine, hops: list[Any]
) -> None:
    batches: list[list[int]] = []
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        hops.clear()
        result = await connection.stream(text("SELECT n FROM items ORDER BY n"))
        async for partition in result.partitions(100):
            batches.append([n for (n,) in partition])
    assert [n for batch in batches for n in batch] == list(range(ROWS))
    assert max(len(batch) for batch in batches) == 100
    # The statement with its first rows, then the rest a prefetch at a time: never the
    # whole result in one go.
    assert len(hops) >= ROWS // sqlite_driver.PREFETCH_ROWS + 1


async def test_a_result_left_unread_is_closed(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT n FROM items ORDER BY n"))
        first = await result.fetchmany(3)
        await result.close()
        # The connection is usable again: its cursor was closed, not left open.
        count = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()
    assert [n for (n,) in first] == [0, 1, 2]
    assert count == ROWS


async def test_a_rolled_back_write_leaves_nothing_and_a_committed_one_stays(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        await connection.begin()
        await connection.execute(text("INSERT INTO items VALUES (-1, 'rolled back')"))
        await connection.rollback()
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO items VALUES (-2, 'committed')"))
    async with engine.connect() as connection:
        found = (await connection.execute(text("SELECT n FROM items WHERE n < 0"))).all()
    assert found == [(-2,)]


async def test_a_failing_statement_raises_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        await connection.begin()
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO items VALUES (0, 'duplicate')"))
        await connection.rollback()
        count = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()
    assert count == ROWS


async def test_rowcount_and_many_parameter_sets(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        updated = await connection.execute(
            text("UPDATE items SET label = 'even' WHERE n % 2 = 0 AND n < 10")
        )
        await connection.execute(
            text("DELETE FROM items WHERE n = :n"), [{"n": 1}, {"n": 3}, {"n": 5}]
        )
    async with engine.connect() as connection:
        evens = (
            await connection.execute(text("SELECT count(*) FROM items WHERE label = 'even'"))
        ).scalar()
        left = (await connection.execute(text("SELECT count(*) FROM items"))).scalar()
    assert updated.rowcount == 5
    assert evens == 5
    assert left == ROWS - 3


SHORT = select(column("label")).select_from(table("items")).where(column("n") == 5)


async def test_a_short_read_takes_no_hop(engine: AsyncEngine, hops: list[Any]) -> None:
    async with read_only(engine, snapshot=False).connect() as connection:
        await connection.execute(short_read(SHORT))  # asks the journal mode once
        hops.clear()
        short = (await connection.execute(short_read(SHORT))).scalar()
        assert hops == []
        plain = (await connection.execute(SHORT)).scalar()
        assert len(hops) == 1  # an unmarked read still goes to the connection's thread
    assert short == plain == "item 5"


async def test_a_short_read_waits_for_no_writer(engine: AsyncEngine, hops: list[Any]) -> None:
    reading = read_only(engine, snapshot=False)
    async with engine.connect() as writer, reading.connect() as reader:
        await writer.execute(text("UPDATE items SET label = 'changed' WHERE n = 5"))
        # The writer holds SQLite's write lock, uncommitted: the reader sees the last commit
        # at once (WAL), without waiting out the busy timeout.
        assert (await reader.execute(short_read(SHORT))).scalar() == "item 5"
        await writer.commit()
        assert (await reader.execute(short_read(SHORT))).scalar() == "changed"


async def test_outside_wal_mode_a_short_read_takes_the_hop(
    engine: AsyncEngine, hops: list[Any]
) -> None:
    async with read_only(engine, snapshot=False).connect() as connection:
        await connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
        hops.clear()
        assert (await connection.execute(short_read(SHORT))).scalar() == "item 5"
        # The journal mode, asked once; then the statement itself.
        assert len(hops) == 2
        await connection.invalidate()  # not back into the pool in another journal mode


async def test_while_the_thread_is_busy_a_short_read_waits_its_turn(
    engine: AsyncEngine, hops: list[Any]
) -> None:
    async with engine.connect() as connection:
        await connection.execute(short_read(SHORT))
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, sqlite_driver.OneHopConnection)
        # Still running on the connection's thread, as a cancelled caller's statement may be.
        busy = asyncio.ensure_future(driver.run(time.sleep, 0.2))
        await asyncio.sleep(0.05)
        hops.clear()
        assert (await connection.execute(short_read(SHORT))).scalar() == "item 5"
        assert len(hops) == 1  # queued behind it on that thread, not run beside it
        assert busy.done()
        await busy


def test_the_mark_is_for_sqlite_only() -> None:
    marked = short_read(SHORT)
    assert str(marked.compile(dialect=sqlite.dialect())).endswith(sqlite_driver.SHORT_READ)
    assert sqlite_driver.SHORT_READ not in str(marked.compile(dialect=postgresql.dialect()))
