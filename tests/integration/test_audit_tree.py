"""The audit log's Merkle tree on real SQLite and PostgreSQL: built as events are appended,
signed heads, proofs an independent RFC 9162 implementation accepts, and a database that
refuses to change any of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import rfc9162_reference as rfc
from audit_tampering import cut_tail
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from domain.audit.events import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    AuditRecord,
    canonical_bytes,
    seal,
)
from domain.audit.merkle import verify_consistency, verify_inclusion
from domain.audit.tree_check import AuditLogBroken
from domain.audit.tree_heads import NoSuchTreeHead
from domain.clock import SystemClock
from persistence.audit.batch import BatchingAuditLog
from persistence.audit.sink import SqlAuditSink, row_values
from persistence.audit.tables import AuditEventRow, AuditTreeHeadRow, AuditTreeNodeRow
from persistence.audit.tree import (
    TreeHeadTimer,
    all_tree_heads,
    consistency_proof,
    inclusion_proof,
    latest_tree_head,
    sign_tree_head,
)
from persistence.crypto import MasterKey
from persistence.database import make_engine
from persistence.migrate import upgrade
from persistence.signatures import checkpoint_signer, verify_jws
from persistence.uow import SqlUnitOfWork


def record(n: int) -> AuditRecord:
    return AuditRecord(Actor(ActorType.STAFF, f"staff-{n}", role="officer"), "x.read", "thing")


def leaf_input(event: AuditEvent) -> bytes:
    return canonical_bytes(event.seq, event.id, event.at, event.record, event.prev_hash)


async def append(
    uow_factory: Callable[[], SqlUnitOfWork], count: int, every: int = 1000
) -> list[AuditEvent]:
    events = []
    for n in range(count):
        uow = uow_factory()
        uow.checkpoint_every = every
        async with uow:
            events.append(await uow.audit.append(record(n)))
            await uow.commit()
    return events


async def test_the_signed_root_is_the_rfc_root_of_the_events(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], master_key: MasterKey
) -> None:
    events = await append(uow_factory, 7, every=3)
    heads = await _heads(engine)
    # One head every 3 events, signed in the appending transaction.
    assert [head.tree_size for head in heads] == [3, 6]
    jwk = checkpoint_signer(master_key).jwk()
    for head in heads:
        claims = verify_jws(head.signature, jwk)
        assert claims["tree_size"] == head.tree_size
        assert (
            claims["root_hash"] == rfc.mth([leaf_input(e) for e in events[: head.tree_size]]).hex()
        )
    async with async_sessionmaker(engine)() as session:
        made = await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
        await session.commit()
    assert made is not None
    assert (made.tree_size, made.root_hash) == (7, rfc.mth([leaf_input(e) for e in events]))
    async with async_sessionmaker(engine)() as session:
        again = await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
    assert again == made  # nothing new: no second head of the same size


async def _heads(engine: AsyncEngine) -> list:  # type: ignore[type-arg]
    async with engine.connect() as connection:
        return await all_tree_heads(connection)


async def test_group_commit_batches_extend_the_same_tree(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    log = BatchingAuditLog(
        sessions, SystemClock(), checkpoint_signer(master_key), checkpoint_every=10
    )
    events = sorted(
        await asyncio.gather(*(log.record(record(n)) for n in range(25))), key=lambda e: e.seq
    )
    # The appender signed heads as batches crossed 10 and 20 events.
    signed = [h.tree_size for h in await _heads(engine)]
    assert signed
    assert signed[-1] >= 20
    async with sessions() as session:
        head = await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
        await session.commit()
    assert head is not None
    assert head.tree_size == 25
    assert head.root_hash == rfc.mth([leaf_input(e) for e in events])


async def test_proofs_from_stored_nodes_satisfy_the_reference(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], master_key: MasterKey
) -> None:
    events = await append(uow_factory, 13, every=5)
    async with async_sessionmaker(engine)() as session:
        await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
        await session.commit()
    inputs = [leaf_input(e) for e in events]
    async with engine.connect() as connection:
        newest = await latest_tree_head(connection)
        assert newest is not None
        for event in events:
            proof = await inclusion_proof(connection, event.seq, newest)
            assert proof.path == rfc.path(event.seq - 1, inputs)
            verify_inclusion(proof.leaf_hash, event.seq - 1, 13, proof.path, newest.root_hash)
        consistency = await consistency_proof(connection, 5, 13)
        assert consistency.path == rfc.proof(5, inputs)
        verify_consistency(5, 13, rfc.mth(inputs[:5]), rfc.mth(inputs), consistency.path)
        with pytest.raises(NoSuchTreeHead):
            await consistency_proof(connection, 4, 13)  # no head was signed at 4


async def test_the_database_refuses_to_change_the_tree_or_its_heads(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    await append(uow_factory, 3, every=3)
    for statement in (
        update(AuditTreeNodeRow).values(hash=bytes(32)),
        delete(AuditTreeNodeRow),
        update(AuditTreeHeadRow).values(root_hash=bytes(32)),
        delete(AuditTreeHeadRow),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(statement)


async def test_sqlite_insert_or_replace_of_an_existing_event_is_refused(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    events = await append(uow_factory, 2)
    if engine.dialect.name == "sqlite":
        replace = text(
            "INSERT OR REPLACE INTO audit_events SELECT * FROM audit_events WHERE seq = 1"
        )
    else:  # the equivalent on PostgreSQL goes through the UPDATE trigger
        replace = text(
            "INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 1 "
            "ON CONFLICT (seq) DO UPDATE SET action = 'forged'"
        )
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(replace)
    async with engine.connect() as connection:
        stored = (
            (await connection.execute(select(AuditEventRow.id).order_by(AuditEventRow.seq)))
            .scalars()
            .all()
        )
    assert [str(value) for value in stored] == [str(event.id) for event in events]


async def test_a_plain_insert_with_a_new_seq_still_works_for_the_sink(
    engine: AsyncEngine,
) -> None:
    # The no-replace guard must not get in the sink's own way (two batches in a row).
    async with async_sessionmaker(engine)() as session, session.begin():
        await SqlAuditSink(session).append_many([record(1), record(2)])
    async with async_sessionmaker(engine)() as session, session.begin():
        await SqlAuditSink(session).append(record(3))
    async with engine.connect() as connection:
        nodes = (
            await connection.execute(select(AuditTreeNodeRow.level, AuditTreeNodeRow.index))
        ).all()
    # 3 leaves, the pair (0,1) -> level 1 node 0.
    assert sorted(nodes) == [(0, 0), (0, 1), (0, 2), (1, 0)]


async def test_migrating_hashes_the_events_already_stored_into_the_tree(
    blank_db_url: str, master_key: MasterKey
) -> None:
    await upgrade(blank_db_url, "0006")
    engine = make_engine(blank_db_url)
    try:
        events, prev = [], GENESIS_HASH
        for seq in range(1, 12):
            at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=seq)
            subject = uuid4() if seq % 2 else None
            made = seal(seq, uuid4(), at, replace(record(seq), subject_id=subject), prev)
            events.append(made)
            prev = made.hash
        async with engine.begin() as connection:
            await connection.execute(insert(AuditEventRow), [row_values(e) for e in events])
            move_head = text("UPDATE audit_head SET seq = 11, hash = :h")
            await connection.execute(move_head, {"h": prev})
        await upgrade(blank_db_url, "head")
        async with async_sessionmaker(engine)() as session:
            head = await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
            await session.commit()
        assert head is not None
        assert head.root_hash == rfc.mth([leaf_input(e) for e in events])
        # And the next append continues the same tree.
        async with async_sessionmaker(engine)() as session, session.begin():
            events.append(await SqlAuditSink(session).append(record(12)))
        async with async_sessionmaker(engine)() as session:
            head = await sign_tree_head(session, checkpoint_signer(master_key), datetime.now(UTC))
            await session.commit()
        assert head is not None
        assert head.root_hash == rfc.mth([leaf_input(e) for e in events])
    finally:
        await engine.dispose()


async def test_the_timer_signs_a_head_only_when_events_were_appended(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], master_key: MasterKey
) -> None:
    timer = TreeHeadTimer(async_sessionmaker(engine), checkpoint_signer(master_key), 0.01)
    assert await timer.tick() is None  # an empty log has nothing to sign
    await append(uow_factory, 2)
    first = await timer.tick()
    assert first is not None
    assert first.tree_size == 2
    assert await timer.tick() == first  # nothing new: the same head, not another
    await append(uow_factory, 1)
    stop = asyncio.Event()
    running = asyncio.create_task(timer.run(stop))
    for _ in range(200):
        if (await _heads(engine))[-1].tree_size == 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await running
    assert [head.tree_size for head in await _heads(engine)] == [2, 3]


@pytest.mark.parametrize("fix_frontier", [False, True])
async def test_appends_are_refused_once_the_tail_was_cut_behind_our_back(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], fix_frontier: bool
) -> None:
    events = await append(uow_factory, 5)
    await cut_tail(engine, events, 3, fix_frontier=fix_frontier)
    with pytest.raises(AuditLogBroken):
        await append(uow_factory, 1)
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_events"))).scalar()
    assert count == 3  # nothing was appended onto the untrustworthy tree
