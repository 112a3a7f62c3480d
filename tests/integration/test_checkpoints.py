"""Signed checkpoints: made every N events in the appending transaction, verified against
the chain; a consistent rewrite of the chain (hashes recomputed, head updated, triggers
dropped) passes the hash-chain check but not the checkpoint signature."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import GENESIS_HASH, Actor, ActorType, AuditEvent, AuditRecord, seal
from persistence.audit.checkpoints import (
    AuditCheckpointRow,
    audit_report,
    checkpoint_now,
    latest_checkpoint,
    verify_checkpoints,
)
from persistence.audit.sink import verify_log
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.signatures import BadSignature, verify_jws
from persistence.uow import SqlUnitOfWork

SUBJECT = UUID("0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a")
# As an attacker with database access would: the events' and the checkpoints' triggers.
DROP_TRIGGERS = {
    "postgresql": [
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints",
    ],
    "sqlite": [
        "DROP TRIGGER audit_events_no_update",
        "DROP TRIGGER audit_events_no_delete",
        "DROP TRIGGER audit_checkpoints_no_update",
    ],
}


def record(n: int) -> AuditRecord:
    return AuditRecord(
        actor=Actor(ActorType.STAFF, f"staff-{n}", "desk", "support_agent"),
        action="read",
        resource_type="profile",
        subject_id=SUBJECT,
        request_id=f"req-{n}",
    )


async def append(
    uow_factory: Callable[[], SqlUnitOfWork], count: int, every: int = 3
) -> list[AuditEvent]:
    events = []
    for n in range(count):
        uow = uow_factory()
        uow.checkpoint_every = every
        async with uow:
            events.append(await uow.audit.append(record(n)))
            await uow.commit()
    return events


async def test_a_checkpoint_every_n_events_signed_with_the_published_key(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    events = await append(uow_factory, 7)
    jwk = uow_factory().checkpoint_signer.jwk()
    checked, failure, latest = await verify_checkpoints(engine, jwk)
    assert (checked, failure) == (2, None)
    assert latest is not None
    assert latest.seq == 6
    assert latest.head_hash == events[5].hash
    claims = verify_jws(latest.signature, jwk)
    assert claims["event_count"] == 6
    assert claims["head_hash"] == events[5].hash.hex()
    other_key = uow_factory().receipts.jwk()
    with pytest.raises(BadSignature):
        verify_jws(latest.signature, other_key)


async def test_an_appender_that_rolls_back_leaves_no_checkpoint(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    await append(uow_factory, 2)
    uow = uow_factory()
    uow.checkpoint_every = 3
    async with uow:
        await uow.audit.append(record(3))  # no commit
    async with engine.connect() as connection:
        assert await latest_checkpoint(connection) is None


async def test_checkpoint_now_signs_the_head_once(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    events = await append(uow_factory, 4, every=1000)
    signer = uow_factory().checkpoint_signer
    async with uow_factory() as uow:
        first = await checkpoint_now(uow.session, signer, events[-1].at)
        await uow.commit()
    async with uow_factory() as uow:
        again = await checkpoint_now(uow.session, signer, events[-1].at)
        await uow.commit()
    assert first is not None
    assert again == first
    assert first.seq == 4
    assert first.head_hash == events[-1].hash
    assert (await verify_checkpoints(engine, signer.jwk()))[:2] == (1, None)


async def _rewrite_consistently(
    engine: AsyncEngine, events: list[AuditEvent], changed_seq: int
) -> None:
    """What an attacker with the database password does: change one event, recompute
    every hash after it, move the head. The chain is then internally consistent."""
    async with engine.begin() as connection:
        for statement in DROP_TRIGGERS[engine.dialect.name]:
            await connection.execute(text(statement))
        prev = GENESIS_HASH if changed_seq == 1 else events[changed_seq - 2].hash
        for event in events[changed_seq - 1 :]:
            rec = event.record
            if event.seq == changed_seq:
                rec = AuditRecord(
                    rec.actor,
                    "nothing-to-see",
                    rec.resource_type,
                    subject_id=rec.subject_id,
                    request_id=rec.request_id,
                )
            forged = seal(event.seq, event.id, event.at, rec, prev)
            await connection.execute(
                update(AuditEventRow)
                .where(AuditEventRow.seq == event.seq)
                .values(action=rec.action, prev_hash=forged.prev_hash, hash=forged.hash)
            )
            prev = forged.hash
        await connection.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ROW_ID).values(hash=prev)
        )


async def test_consistent_rewrite_is_caught_by_the_checkpoint(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    events = await append(uow_factory, 7)
    await _rewrite_consistently(engine, events, changed_seq=2)
    assert (await verify_log(engine)).intact  # the hash chain alone is fooled
    jwk = uow_factory().checkpoint_signer.jwk()
    report = await audit_report(engine, jwk)
    assert not report.intact
    assert report.checkpoint_failure is not None
    assert report.checkpoint_failure.seq == 3
    assert "rewritten" in report.checkpoint_failure.reason


async def test_rewriting_the_checkpoint_too_breaks_its_signature(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    events = await append(uow_factory, 3)
    await _rewrite_consistently(engine, events, changed_seq=1)
    async with engine.begin() as connection:
        new_hash = (
            await connection.execute(text("SELECT hash FROM audit_events WHERE seq = 3"))
        ).scalar_one()
        await connection.execute(
            update(AuditCheckpointRow)
            .where(AuditCheckpointRow.seq == 3)
            .values(head_hash=bytes(new_hash))
        )
    _, failure, _ = await verify_checkpoints(engine, uow_factory().checkpoint_signer.jwk())
    assert failure is not None
    assert failure.seq == 3
    assert "differs from what was signed" in failure.reason


DROP_CHECKPOINT_DELETE_TRIGGER = {
    "postgresql": "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints",
    "sqlite": "DROP TRIGGER audit_checkpoints_no_delete",
}


async def test_the_database_refuses_to_change_or_remove_a_checkpoint(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    await append(uow_factory, 3)
    for statement in (
        update(AuditCheckpointRow).values(head_hash=bytes(32)),
        delete(AuditCheckpointRow),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(statement)
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM audit_checkpoints"))).scalar()
    assert count == 1


async def test_a_forged_checkpoint_signature_is_detected(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    events = await append(uow_factory, 3)
    forger = uow_factory().receipts  # a real Ed25519 key, but not the checkpoint key
    async with engine.begin() as connection:
        await connection.execute(text(DROP_CHECKPOINT_DELETE_TRIGGER[engine.dialect.name]))
        await connection.execute(delete(AuditCheckpointRow))
        await connection.execute(
            insert(AuditCheckpointRow).values(
                seq=3,
                head_hash=events[2].hash,
                kid="x",
                created_at=events[2].at,
                signature=forger.sign({"seq": 3, "head_hash": events[2].hash.hex()}),
            )
        )
    _, failure, _ = await verify_checkpoints(engine, uow_factory().checkpoint_signer.jwk())
    assert failure is not None
    assert failure.reason == "checkpoint signature does not verify"


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


async def test_a_checkpoint_when_the_newest_is_older_than_max_age(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    clock = StepClock()
    sessions = session_factory(engine)

    async def append_at(offset_seconds: int) -> AuditEvent:
        clock.current = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=offset_seconds)
        uow = SqlUnitOfWork(sessions, master_key, clock)
        uow.checkpoint_max_age = timedelta(seconds=60)
        async with uow:
            event = await uow.audit.append(record(offset_seconds))
            await uow.commit()
        return event

    for offset in (0, 10, 59, 61, 100, 125):
        await append_at(offset)
    async with engine.connect() as connection:
        seqs = (
            (await connection.execute(text("SELECT seq FROM audit_checkpoints ORDER BY seq")))
            .scalars()
            .all()
        )
    # Nothing signed yet at the first event; then the first event 60 s or more after the last.
    assert seqs == [1, 4, 6]
    jwk = SqlUnitOfWork(sessions, master_key).checkpoint_signer.jwk()
    assert (await verify_checkpoints(engine, jwk))[:2] == (3, None)
