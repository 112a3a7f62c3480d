"""Someone with database access drops the triggers and edits the log: verify_log says where.

Each test appends six genuine events, removes the append-only triggers (as an attacker
with the database password could), makes one change with plain SQL, and checks that
`verify_log` names the first event that is not what Custodian appended.
"""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.sql import Executable

from domain.audit.events import Actor, ActorType, AuditEvent, AuditRecord, seal
from persistence.audit.sink import SqlAuditSink, VerificationReport, verify_log
from persistence.audit.tables import AuditEventRow, AuditHeadRow

SUBJECT = UUID("0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a")

DROP_TRIGGERS = {
    "postgresql": [
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DROP TRIGGER audit_events_no_truncate ON audit_events",
    ],
    "sqlite": ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"],
}


def record(n: int) -> AuditRecord:
    return AuditRecord(
        actor=Actor(ActorType.STAFF, f"staff-{n}", "backoffice", "support"),
        action="profile.read",
        resource_type="profile",
        subject_id=SUBJECT,
        resource_id=str(SUBJECT),
        fields=("email",),
        purpose="support_ticket",
        request_id=f"req-{n}",
    )


@pytest.fixture
async def genuine(engine: AsyncEngine) -> list[AuditEvent]:
    """Six appended events, then the append-only triggers dropped."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    events = []
    for n in range(1, 7):
        async with maker() as session, session.begin():
            events.append(await SqlAuditSink(session).append(record(n)))
    assert (await verify_log(engine)).intact
    async with engine.begin() as connection:
        for statement in DROP_TRIGGERS[engine.dialect.name]:
            await connection.execute(text(statement))
    return events


def row_values(event: AuditEvent) -> dict[str, object]:
    """A row as someone writing SQL by hand would insert it."""
    r = event.record
    return {
        "seq": event.seq,
        "id": event.id,
        "at": event.at,
        "actor_type": r.actor.type.value,
        "actor_id": r.actor.id,
        "actor_role": r.actor.role,
        "client_id": r.actor.client_id,
        "subject_id": r.subject_id,
        "action": r.action,
        "resource_type": r.resource_type,
        "resource_id": r.resource_id,
        "fields": json.dumps(list(r.fields)),
        "purpose": r.purpose,
        "outcome": r.outcome.value,
        "request_id": r.request_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


async def tamper(engine: AsyncEngine, *statements: Executable | str) -> VerificationReport:
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement) if isinstance(statement, str) else statement)
    return await verify_log(engine, batch_size=4)


def shift_from(seq: int, by: int) -> list[Executable]:
    # Through negative seqs, so no two rows ever share a seq (the primary key) midway.
    return [
        update(AuditEventRow).where(AuditEventRow.seq >= seq).values(seq=-AuditEventRow.seq),
        update(AuditEventRow).where(AuditEventRow.seq < 0).values(seq=by - AuditEventRow.seq),
    ]


def located(report: VerificationReport) -> tuple[int, UUID | None, str]:
    assert report.failure is not None, "tampering went unnoticed"
    return report.failure.seq, report.failure.event_id, report.failure.reason


async def test_an_altered_value_is_located(engine: AsyncEngine, genuine: list[AuditEvent]) -> None:
    report = await tamper(engine, "UPDATE audit_events SET actor_id = 'staff-99' WHERE seq = 3")
    assert located(report) == (3, genuine[2].id, "contents do not match the event's hash (altered)")
    assert report.events_checked == 2


async def test_an_altered_time_is_located(engine: AsyncEngine, genuine: list[AuditEvent]) -> None:
    report = await tamper(
        engine,
        update(AuditEventRow)
        .where(AuditEventRow.seq == 5)
        .values(at=genuine[4].at - timedelta(hours=1)),
    )
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (5, genuine[4].id)
    assert "altered" in reason


async def test_a_value_that_cannot_be_read_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    report = await tamper(engine, "UPDATE audit_events SET fields = 'email' WHERE seq = 4")
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (4, genuine[3].id)
    assert "cannot be read" in reason


async def test_an_unknown_actor_type_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    report = await tamper(engine, "UPDATE audit_events SET actor_type = 'ghost' WHERE seq = 2")
    assert located(report)[:2] == (2, genuine[1].id)


async def test_a_deleted_middle_event_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    report = await tamper(engine, "DELETE FROM audit_events WHERE seq = 3")
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (3, None)
    assert "missing (deleted)" in reason


async def test_a_deleted_event_with_later_seqs_renumbered_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    report = await tamper(
        engine,
        "DELETE FROM audit_events WHERE seq = 3",
        *shift_from(4, -1),
        "UPDATE audit_head SET seq = 5",
    )
    assert located(report)[:2] == (3, genuine[3].id)


async def test_a_deleted_last_event_is_caught_by_the_head(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    report = await tamper(engine, "DELETE FROM audit_events WHERE seq = 6")
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (6, None)
    assert "end of the log was deleted" in reason
    assert report.events_checked == 5


async def test_an_event_added_at_the_end_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    forged = seal(7, uuid4(), genuine[-1].at, record(7), genuine[-1].hash)
    report = await tamper(engine, insert(AuditEventRow).values(row_values(forged)))
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (7, forged.id)
    assert "beyond the recorded head" in reason


async def test_a_well_forged_inserted_event_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    forged = seal(3, uuid4(), genuine[1].at, record(99), genuine[1].hash)
    report = await tamper(
        engine,
        *shift_from(3, 1),
        insert(AuditEventRow).values(row_values(forged)),
        update(AuditHeadRow).values(seq=7),
    )
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (3, forged.id)
    assert "inserted" in reason
    assert report.events_checked == 2


async def test_a_copied_event_inserted_in_the_middle_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    copy = genuine[0]
    values = row_values(copy) | {"seq": 4, "id": uuid4()}
    report = await tamper(engine, *shift_from(4, 1), insert(AuditEventRow).values(values))
    assert located(report)[:2] == (4, values["id"])


async def test_reordered_events_are_located(engine: AsyncEngine, genuine: list[AuditEvent]) -> None:
    report = await tamper(
        engine,
        "UPDATE audit_events SET seq = -4 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = 5",
        "UPDATE audit_events SET seq = 5 WHERE seq = -4",
    )
    assert located(report)[:2] == (4, genuine[4].id)
    assert report.events_checked == 3


async def test_an_event_placed_before_the_first_is_located(
    engine: AsyncEngine, genuine: list[AuditEvent]
) -> None:
    values = row_values(genuine[0]) | {"seq": 0, "id": uuid4()}
    report = await tamper(engine, insert(AuditEventRow).values(values))
    seq, event_id, reason = located(report)
    assert (seq, event_id) == (0, values["id"])
    assert "out of order" in reason


@pytest.mark.usefixtures("genuine")
async def test_a_missing_head_is_reported(engine: AsyncEngine) -> None:
    report = await tamper(engine, delete(AuditHeadRow))
    assert "head (audit_head) is missing" in located(report)[2]
