"""Group-committed audit appends (persistence.audit.batch) on real SQLite and PostgreSQL:
concurrent callers share transactions, the chain stays one unbroken chain, checkpoints still
land on their seqs, and a failed batch fails every caller in it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from audit_tampering import cut_tail
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import Actor, ActorType, AuditRecord, Outcome
from domain.audit.merkle import Frontier
from domain.audit.tree_check import AuditLogBroken
from domain.clock import SystemClock
from persistence.audit.batch import BatchingAuditLog
from persistence.audit.checkpoints import AuditCheckpointRow, verify_checkpoints
from persistence.audit.sink import SqlAuditSink, row_values, verify_log
from persistence.audit.tables import AuditEventRow, AuditTreeNodeRow
from persistence.audit.tree import sign_tree_head
from persistence.audit.tree_verify import verify_tree
from persistence.crypto import MasterKey
from persistence.database import read_only, session_factory
from persistence.signatures import checkpoint_signer

SUBJECT = UUID("6f1c2d3e-4b5a-4978-8a6b-5c4d3e2f1a0b")


def record(n: int, **changes: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "actor": Actor(ActorType.CUSTOMER, str(SUBJECT), client_id="mobile-app"),
        "action": "profile.read",
        "resource_type": "profile",
        "subject_id": SUBJECT,
        "outcome": Outcome.ALLOWED,
        "request_id": f"req-{n}",
    }
    values.update(changes)
    return AuditRecord(**values)


def trail(engine: AsyncEngine, master_key: MasterKey, **options: Any) -> BatchingAuditLog:
    return BatchingAuditLog(
        session_factory(engine), SystemClock(), checkpoint_signer(master_key), **options
    )


async def test_concurrent_records_share_commits_and_form_one_chain(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key)
    events = await asyncio.gather(*(log.record(record(n)) for n in range(40)))

    # Every caller got its own event, in one gap-free run of seqs, each durable on return.
    assert sorted(e.seq for e in events) == list(range(1, 41))
    assert {e.record.request_id for e in events} == {f"req-{n}" for n in range(40)}
    assert log.batches < 40  # the callers shared transactions
    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 40


async def test_batched_events_chain_onto_events_appended_in_units_of_work(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key)
    await log.record(record(1))
    async with session_factory(engine)() as session:
        await SqlAuditSink(session).append(record(2))
        await session.commit()
    await asyncio.gather(log.record(record(3)), log.record(record(4)))

    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 4


async def test_checkpoints_land_on_their_seqs_inside_a_batch(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key, checkpoint_every=3)
    await asyncio.gather(*(log.record(record(n)) for n in range(10)))

    async with engine.connect() as connection:
        seqs = (
            (
                await connection.execute(
                    select(AuditCheckpointRow.seq).order_by(AuditCheckpointRow.seq)
                )
            )
            .scalars()
            .all()
        )
    assert list(seqs) == [3, 6, 9]
    checked, failure, _ = await verify_checkpoints(engine, checkpoint_signer(master_key).jwk())
    assert (checked, failure) == (3, None)


async def test_a_failed_batch_fails_every_caller_and_stores_nothing(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key)
    await log.record(record(0))
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_head"))

    results = await asyncio.gather(
        *(log.record(record(n)) for n in range(1, 6)), return_exceptions=True
    )

    assert all(isinstance(r, RuntimeError) for r in results), results
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar()
    assert count == 1


async def test_an_overlong_value_is_refused_before_anything_is_queued(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key)
    with pytest.raises(ValueError, match="request_id"):
        await log.record(record(1, request_id="x" * 5000))
    event = await log.record(record(2))
    assert event.seq == 1


async def test_aclose_waits_for_queued_events(engine: AsyncEngine, master_key: MasterKey) -> None:
    log = trail(engine, master_key, checkpoint_max_age=timedelta(hours=1))
    pending = [asyncio.ensure_future(log.record(record(n))) for n in range(5)]
    await asyncio.sleep(0)
    await log.aclose()
    assert all(task.done() for task in pending)
    assert (await verify_log(engine)).events_checked == 5


async def test_a_read_only_engine_reads_beside_a_writer(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    # SQLite: a read-only transaction takes no write lock, so a writer still gets in while
    # it is open (with BEGIN IMMEDIATE it would wait out the busy timeout).
    log = trail(engine, master_key)
    async with read_only(engine).connect() as reader:
        await reader.execute(text("SELECT count(*) FROM audit_events"))
        event = await asyncio.wait_for(log.record(record(1)), timeout=10)
        await reader.rollback()
    assert event.seq == 1


async def _stored_tree_is_the_tree_of_its_leaves(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(AuditTreeNodeRow.level, AuditTreeNodeRow.index, AuditTreeNodeRow.hash)
            )
        ).all()
    stored = {(level, index): bytes(digest) for level, index, digest in rows}
    leaves = [stored[(0, i)] for i in range(len([k for k in stored if k[0] == 0]))]
    rebuilt: dict[tuple[int, int], bytes] = {}
    frontier = Frontier(0, [])
    for leaf in leaves:
        for node, digest in frontier.append(leaf):
            rebuilt[(node.level, node.index)] = digest
    assert stored == rebuilt


async def test_a_batch_is_one_trip_unless_the_head_moved(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    log = trail(engine, master_key)
    assert log.one_trip is not None
    await log.record(record(1))
    await asyncio.gather(log.record(record(2)), log.record(record(3)))
    # Another writer (a data change's transaction, or another process) moves the head: the
    # remembered head no longer matches, nothing is written, the head is read again.
    async with session_factory(engine)() as session:
        await SqlAuditSink(session).append(record(4))
        await session.commit()
    await log.record(record(5))
    assert log.one_trip.appended == log.batches

    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 5
    await _stored_tree_is_the_tree_of_its_leaves(engine)
    signer = checkpoint_signer(master_key)
    async with session_factory(engine)() as session:
        await sign_tree_head(session, signer, datetime.now(UTC))
        await session.commit()
    tree = await verify_tree(engine, signer.jwk())
    assert tree.intact
    assert tree.tree_heads_checked == 1


async def test_one_trip_rows_are_stored_as_the_locked_path_stores_them(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    # The one-trip path writes SQLite's rows itself: each value must take the form
    # SQLAlchemy gives it (a UUID as 32 hex digits, a time as its text), or readers that
    # parse the stored form (verification's fast path, say) would see two formats.
    full = {
        "fields": ("email", "phone"),
        "purpose": "service",
        "resource_id": "profile-1",
        "actor": Actor(ActorType.STAFF, "officer-7", client_id="console", role="dpo"),
    }
    async with session_factory(engine)() as session:
        locked = await SqlAuditSink(session).append(record(1, **full))
        await session.commit()
    log = trail(engine, master_key)
    one_trip = await log.record(record(2, **full))
    assert log.one_trip is not None
    assert log.one_trip.appended == 1

    columns = [column.name for column in AuditEventRow.__table__.columns]
    async with engine.connect() as connection:
        stored = {row.seq: row for row in await connection.execute(select(AuditEventRow.__table__))}
        if engine.dialect.name == "sqlite":
            shapes = ", ".join(f"typeof({name}), length({name})" for name in columns)
            forms = (
                await connection.execute(text(f"SELECT {shapes} FROM audit_events ORDER BY seq"))
            ).all()
            assert forms[0] == forms[1]
    for event in (locked, one_trip):
        values = dict(stored[event.seq]._mapping)
        values["at"] = values["at"].replace(tzinfo=UTC)  # SQLite keeps UTC wall time only
        assert values == row_values(event)
    assert (await verify_log(engine)).intact


async def test_a_batch_waits_for_a_writer_holding_the_lock_then_chains_onto_it(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    # On SQLite the batch first tries to take the write lock without waiting, on the event
    # loop's thread; held by another transaction, it waits on the connection's thread.
    log = trail(engine, master_key)
    await log.record(record(1))
    async with session_factory(engine)() as writer:
        await SqlAuditSink(writer).append(record(2))  # holds the chain's lock, uncommitted
        waiting = asyncio.ensure_future(log.record(record(3)))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await writer.commit()
    event = await waiting
    assert event.seq == 3
    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 3
    await _stored_tree_is_the_tree_of_its_leaves(engine)


async def test_two_processes_racing_build_one_chain_and_one_tree(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    # Two logs on one database behave as two server processes do: each remembers its own
    # head, loses races to the other, re-reads or takes the lock, and never forks the chain.
    first, second = trail(engine, master_key), trail(engine, master_key)
    events = await asyncio.gather(
        *(log.record(record(n)) for n in range(60) for log in ((first, second)[n % 2],))
    )
    assert sorted(e.seq for e in events) == list(range(1, 61))
    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 60
    await _stored_tree_is_the_tree_of_its_leaves(engine)


@pytest.mark.parametrize("fix_frontier", [False, True])
async def test_a_batch_onto_a_tail_cut_behind_our_back_is_refused(
    engine: AsyncEngine, master_key: MasterKey, fix_frontier: bool
) -> None:
    # On PostgreSQL the one-statement path meets the cut first (its remembered head is
    # gone, the tree still holds the removed events' nodes): it stores nothing and leaves
    # the verdict to the locked path, as on SQLite.
    log = trail(engine, master_key)
    events = [await log.record(record(n)) for n in range(5)]
    await cut_tail(engine, events, 3, fix_frontier=fix_frontier)
    with pytest.raises(AuditLogBroken):
        await log.record(record(6))
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar()
    assert count == 3  # nothing was appended onto the untrustworthy tree
