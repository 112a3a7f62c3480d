"""The SQLite audit fast path (persistence.audit.one_hop): a group-committed batch is one hop
to the connection's thread, stores exactly what the locked path stores, and leaves the
batches that sign a checkpoint to the locked path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from test_audit_batch import record, trail

from persistence.audit.checkpoints import AuditCheckpointRow
from persistence.audit.one_hop import OneHopAppender
from persistence.audit.sink import verify_log
from persistence.audit.tables import AuditEventRow
from persistence.crypto import MasterKey
from persistence.database import make_engine
from persistence.migrate import upgrade


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    await upgrade(url)
    engine = make_engine(url)
    yield engine
    await engine.dispose()


async def test_a_batch_is_one_hop(
    engine: AsyncEngine, master_key: MasterKey, hops: list[Any]
) -> None:
    log = trail(engine, master_key)
    assert isinstance(log.fast_path, OneHopAppender)
    await log.record(record(0))  # the pool's connection is open and warm
    hops.clear()

    events = await asyncio.gather(*(log.record(record(n)) for n in range(1, 21)))

    assert [e.seq for e in events] == list(range(2, 22))
    assert log.batches == log.fast_path.appended == 2
    assert len(hops) == 1
    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 21


async def test_it_stores_what_the_locked_path_stores(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    fast = trail(engine, master_key)
    locked = trail(engine, master_key, fast_path=False)
    assert locked.fast_path is None
    written = [
        await fast.record(record(1, resource_id="r-1", fields=("email",), purpose="support")),
        await locked.record(record(2, resource_id="r-2", fields=("email",), purpose="support")),
    ]
    assert fast.batches == fast.fast_path.appended == 1  # type: ignore[union-attr]

    # The same storage class in every column (SQLite keeps whatever it is given) ...
    async with engine.connect() as connection:
        kinds = [
            (
                await connection.execute(
                    text(f"SELECT typeof({column.name}) FROM audit_events ORDER BY seq")
                )
            )
            .scalars()
            .all()
            for column in AuditEventRow.__table__.columns
        ]
        stored = (await connection.execute(select(AuditEventRow.__table__))).all()
    assert all(first == second for first, second in kinds), kinds
    # ... and the same values read back as were chained and hashed.
    for event, row in zip(written, stored, strict=True):
        assert (row.seq, row.id, row.hash) == (event.seq, event.id, event.hash)
        assert row.at == event.at.replace(tzinfo=None)  # stored as UTC, without the offset
        assert (row.subject_id, row.fields) == (event.record.subject_id, '["email"]')
    assert (await verify_log(engine)).intact


async def test_a_batch_that_signs_a_checkpoint_takes_the_locked_path(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key, checkpoint_every=3)
    for n in range(7):
        await log.record(record(n))

    # Seqs 3 and 6 each fall due in a batch of their own: the locked path signs them.
    assert log.batches == 7
    assert log.fast_path is not None
    assert log.fast_path.appended == 5
    async with engine.connect() as connection:
        signed = (await connection.execute(select(AuditCheckpointRow.seq))).scalars().all()
    assert sorted(signed) == [3, 6]
    assert (await verify_log(engine)).intact
