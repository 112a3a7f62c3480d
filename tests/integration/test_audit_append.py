"""Appending to the audit log on real SQLite and PostgreSQL: one chain, no gaps, no forks."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import RFC_4122, UUID

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from throwaway_db import sqlite_copy, sqlite_url

from domain.audit.events import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    AuditRecord,
    Outcome,
)
from persistence.audit.sink import SqlAuditSink, event_id, verify_log
from persistence.audit.tables import AuditEventRow
from persistence.audit.verify import decode_event

ROOT = Path(__file__).resolve().parents[2]
SUBJECT = UUID("6f1c2d3e-4b5a-4978-8a6b-5c4d3e2f1a0b")


def record(n: int = 0, **changes: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "actor": Actor(ActorType.CUSTOMER, str(SUBJECT), client_id="mobile-app"),
        "action": "profile.read",
        "resource_type": "profile",
        "subject_id": SUBJECT,
        "resource_id": str(SUBJECT),
        "fields": ("email", "phone"),
        "purpose": "service_delivery",
        "request_id": f"req-{n}",
    }
    values.update(changes)
    return AuditRecord(**values)


class SteppingClock:
    """A clock that moves one second per reading, in a zone that is not UTC."""

    def __init__(self) -> None:
        self._next = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    def now(self) -> datetime:
        moment = self._next
        self._next += timedelta(seconds=1, microseconds=7)
        return moment


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def append_committed(engine: AsyncEngine, *records: AuditRecord) -> list[AuditEvent]:
    async with sessions(engine)() as session, session.begin():
        sink = SqlAuditSink(session)
        return [await sink.append(r) for r in records]


async def stored_events(engine: AsyncEngine) -> list[AuditEvent]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(AuditEventRow.__table__).order_by("seq"))
        return [decode_event(row) for row in rows.mappings()]


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def test_an_empty_log_is_intact(engine: AsyncEngine) -> None:
    report = await verify_log(engine)
    assert report.intact
    assert (report.events_checked, report.head_seq, report.head_hash) == (0, 0, GENESIS_HASH)


async def test_appended_events_are_stored_as_returned_and_chained(engine: AsyncEngine) -> None:
    clock = SteppingClock()
    records = [
        record(1),
        record(
            2,
            actor=Actor(ActorType.STAFF, "staff-7", "backoffice", "support"),
            outcome=Outcome.DENIED,
            purpose="support_ticket",
        ),
        record(
            3,
            actor=Actor(ActorType.SYSTEM, "custodian"),
            subject_id=None,
            resource_id=None,
            fields=(),
            purpose=None,
            request_id=None,
        ),
    ]
    returned: list[AuditEvent] = []
    for r in records:
        async with sessions(engine)() as session, session.begin():
            returned.append(await SqlAuditSink(session, clock).append(r))

    stored = await stored_events(engine)
    assert [e.seq for e in stored] == [1, 2, 3]
    assert [e.record for e in stored] == records
    assert [(e.id, e.hash, e.prev_hash) for e in stored] == [
        (e.id, e.hash, e.prev_hash) for e in returned
    ]
    # Stored in UTC whatever zone the clock speaks, to the microsecond.
    assert [as_utc(e.at) for e in stored] == [e.at for e in returned]
    assert returned[0].at == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert stored[0].prev_hash == GENESIS_HASH
    assert stored[1].prev_hash == stored[0].hash
    assert stored[2].prev_hash == stored[1].hash

    report = await verify_log(engine)
    assert report.intact
    assert (report.events_checked, report.head_seq) == (3, 3)
    assert report.head_hash == returned[-1].hash
    assert report.head_hash_hex == returned[-1].hash.hex()


async def test_event_ids_are_time_ordered_and_carry_the_events_time(engine: AsyncEngine) -> None:
    clock = SteppingClock()
    async with sessions(engine)() as session, session.begin():
        sink = SqlAuditSink(session, clock)
        returned = [await sink.append(record(n)) for n in range(5)]

    stored = await stored_events(engine)
    assert [e.id for e in stored] == [e.id for e in returned]
    # In the order appended, whichever way the database compares them (bytes or text).
    assert sorted(e.id for e in stored) == [e.id for e in stored]
    assert sorted(e.id.hex for e in stored) == [e.id.hex for e in stored]
    for event in returned:
        assert (event.id.version, event.id.variant) == (7, RFC_4122)
        assert event.id.int >> 80 == int(event.at.timestamp() * 1000)


def test_event_ids_of_one_millisecond_differ() -> None:
    at = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    ids = {event_id(at) for _ in range(10_000)}
    assert len(ids) == 10_000
    assert {i.int >> 80 for i in ids} == {int(at.timestamp() * 1000)}


async def test_appends_in_one_transaction_take_consecutive_seqs(engine: AsyncEngine) -> None:
    first = await append_committed(engine, record(1))
    batch = await append_committed(engine, record(2), record(3), record(4))
    assert [e.seq for e in first + batch] == [1, 2, 3, 4]
    report = await verify_log(engine, batch_size=3)
    assert report.intact
    assert report.events_checked == 4


async def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(engine: AsyncEngine) -> None:
    await append_committed(engine, record(1))
    abandoned: list[AuditEvent] = []

    async def failing_use_case() -> None:
        async with sessions(engine)() as session, session.begin():
            abandoned.append(await SqlAuditSink(session).append(record(2)))
            raise RuntimeError("use case failed")

    with pytest.raises(RuntimeError, match="use case failed"):
        await failing_use_case()
    assert abandoned[0].seq == 2
    after = await append_committed(engine, record(3))
    assert after[0].seq == 2

    stored = await stored_events(engine)
    assert [(e.seq, e.id) for e in stored] == [(1, stored[0].id), (2, after[0].id)]
    assert abandoned[0].id not in {e.id for e in stored}
    assert (await verify_log(engine)).intact


async def test_a_unit_of_work_appends_only_when_it_commits(
    engine: AsyncEngine, uow_factory: Callable[[], Any]
) -> None:
    async with uow_factory() as uow:
        await uow.audit.append(record(1))
    async with uow_factory() as uow:
        kept = await uow.audit.append(record(2))
        await uow.commit()
    stored = await stored_events(engine)
    assert [(e.seq, e.id) for e in stored] == [(1, kept.id)]


async def test_a_value_too_long_for_its_column_is_refused_on_every_engine(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(ValueError, match="request_id"):
        await append_committed(engine, record(1, request_id="r" * 129))
    assert await stored_events(engine) == []


async def test_concurrent_appenders_build_one_chain_without_gaps(engine: AsyncEngine) -> None:
    await check_concurrent_appenders(engine)


async def test_concurrent_appenders_on_sqlite_deferred_transactions(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The sink itself keeps SQLite appenders apart, even without make_engine's BEGIN IMMEDIATE
    (a plain aiosqlite engine: the sqlite3 module's deferred transactions)."""
    url = sqlite_url(sqlite_copy(sqlite_template, tmp_path / "deferred.sqlite"))
    plain = create_async_engine(url, connect_args={"timeout": 30})
    try:
        await check_concurrent_appenders(plain)
    finally:
        await plain.dispose()


async def check_concurrent_appenders(engine: AsyncEngine) -> None:
    """32 tasks, each with its own session and transaction, append at the same time."""
    maker = sessions(engine)

    async def appender(task: int) -> list[AuditEvent]:
        """Three appends in one transaction, yielding in between; every fifth gives up."""
        events: list[AuditEvent] = []
        try:
            async with maker() as session, session.begin():
                sink = SqlAuditSink(session)
                for n in range(3):
                    events.append(await sink.append(record(task * 10 + n)))
                    await asyncio.sleep(0)
                if task % 5 == 4:
                    raise LookupError("rolled back on purpose")
        except LookupError:
            return []
        return events  # acknowledged: the transaction committed

    results = await asyncio.gather(*(appender(task) for task in range(32)))
    acknowledged = [event for events in results for event in events]
    assert len(acknowledged) == 3 * (32 - 6)

    report = await verify_log(engine)
    assert report.failure is None
    assert report.events_checked == report.head_seq == len(acknowledged)
    stored = await stored_events(engine)
    assert [e.seq for e in stored] == list(range(1, len(acknowledged) + 1))
    assert sorted(str(e.id) for e in stored) == sorted(str(e.id) for e in acknowledged)
    assert {(e.seq, e.id, e.hash) for e in stored} == {(e.seq, e.id, e.hash) for e in acknowledged}


APPENDER_SCRIPT = """
import asyncio, sys
from sqlalchemy.ext.asyncio import async_sessionmaker
from domain.audit.events import Actor, ActorType, AuditRecord
from persistence.audit.sink import SqlAuditSink
from persistence.database import make_engine

async def main(url, tasks):
    engine = make_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    record = AuditRecord(Actor(ActorType.SERVICE, "batch", "batch-client"), "audit.load", "test")
    async def one():
        async with maker() as session, session.begin():
            sink = SqlAuditSink(session)
            events = [await sink.append(record), await sink.append(record)]
        return events
    print("ready", flush=True)
    sys.stdin.readline()
    done = await asyncio.gather(*(one() for _ in range(tasks)))
    for events in done:
        for event in events:
            print(event.id, flush=True)
    await engine.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.slow
async def test_appenders_in_several_processes_build_one_chain(
    db_url: str, engine: AsyncEngine
) -> None:
    if engine.dialect.name == "sqlite" and ":memory:" in db_url:
        pytest.skip("an in-memory SQLite database cannot be shared between processes")
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            APPENDER_SCRIPT,
            db_url,
            "12",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for process in processes:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 120) == b"ready\n"
    # Everyone starts together: both processes and sixteen appenders here.
    outputs = asyncio.gather(*(asyncio.wait_for(p.communicate(b"go\n"), 300) for p in processes))
    local = await asyncio.gather(
        *(append_committed(engine, record(n), record(n)) for n in range(16))
    )
    finished = await outputs
    for process, (_, stderr) in zip(processes, finished, strict=True):
        assert process.returncode == 0, stderr.decode()

    acknowledged = [UUID(line) for stdout, _ in finished for line in stdout.decode().split()]
    acknowledged += [event.id for events in local for event in events]
    assert len(acknowledged) == 2 * 12 * 2 + 16 * 2
    report = await verify_log(engine)
    assert report.failure is None
    assert report.events_checked == len(acknowledged)
    stored = await stored_events(engine)
    assert sorted(e.id for e in stored) == sorted(acknowledged)


async def test_the_database_refuses_to_update_or_delete_events(engine: AsyncEngine) -> None:
    await append_committed(engine, record(1), record(2))
    statements = [
        "UPDATE audit_events SET action = 'profile.update' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 2",
        "DELETE FROM audit_events",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))

    async def delete_through_the_orm() -> None:
        async with sessions(engine)() as session, session.begin():
            row = (await session.execute(select(AuditEventRow))).scalars().first()
            assert row is not None
            await session.delete(row)

    with pytest.raises(DBAPIError, match="append-only"):
        await delete_through_the_orm()

    report = await verify_log(engine)
    assert report.intact
    assert report.events_checked == 2


async def test_verifying_while_others_append_reports_no_false_break(engine: AsyncEngine) -> None:
    await append_committed(engine, record(0))
    stop = asyncio.Event()

    async def keep_appending() -> int:
        appended = 0
        while not stop.is_set():
            await append_committed(engine, record(appended))
            appended += 1
            # A pause between transactions, as real requests have: SQLite's lock is not
            # fair, and back-to-back writers could starve the reader (a test of patience).
            await asyncio.sleep(0.002)
        return appended

    appenders = [asyncio.create_task(keep_appending()) for _ in range(4)]
    reports = []
    try:
        for _ in range(3):
            reports.append(await verify_log(engine, batch_size=10))
    finally:
        stop.set()
        appended = sum(await asyncio.gather(*appenders))
    assert [r.failure for r in reports] == [None] * 3
    assert all(r.events_checked == r.head_seq >= 1 for r in reports)
    final = await verify_log(engine)
    assert final.intact
    assert final.events_checked == 1 + appended


async def test_verifying_in_the_callers_transaction(engine: AsyncEngine) -> None:
    events = await append_committed(engine, record(1), record(2))
    async with engine.connect() as connection:
        on_connection = await verify_log(connection, batch_size=1)
    async with sessions(engine)() as session:
        on_session = await verify_log(session)
    for report in (on_connection, on_session):
        assert report.intact
        assert (report.events_checked, report.head_hash) == (2, events[-1].hash)
