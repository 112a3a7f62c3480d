"""The fast verification path builds exactly the canonical bytes the events were sealed with,
from the raw values each driver returns."""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy import select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.types import NullType

from domain.audit.events import Actor, ActorType, AuditRecord, Outcome, canonical_bytes
from persistence.audit.raw_canonical import canonical_from_row
from persistence.audit.sink import SqlAuditSink
from persistence.audit.tables import AuditEventRow

RECORDS = [
    AuditRecord(Actor(ActorType.SYSTEM), "sweep", "retention"),
    AuditRecord(
        Actor(ActorType.STAFF, 'agent "7"', "console", "support\\agent"),
        "read",
        "profile",
        Outcome.DENIED,
        subject_id=uuid4(),
        resource_id="réf-ü-\u2603",
        fields=("email", "phone", 'we"ird'),
        purpose="complaint_handling:TCK-1",
        request_id="req\n1",
    ),
    AuditRecord(Actor(ActorType.CUSTOMER, "c", "app"), "grant", "consent", fields=()),
]


async def test_raw_rows_give_the_sealed_bytes(engine: AsyncEngine) -> None:
    async with async_sessionmaker(engine)() as session, session.begin():
        events = await SqlAuditSink(session).append_many(RECORDS)
    columns = [type_coerce(c, NullType()).label(c.name) for c in AuditEventRow.__table__.columns]
    async with engine.connect() as connection:
        rows = (await connection.execute(select(*columns).order_by(AuditEventRow.seq))).all()
    assert len(rows) == len(events)
    for row, event in zip(rows, events, strict=True):
        expected = canonical_bytes(event.seq, event.id, event.at, event.record, event.prev_hash)
        assert canonical_from_row(row) == expected


def test_values_custodian_never_writes_take_the_exact_path() -> None:
    base = [1, "0" * 32, "2025-01-01 00:00:00.000000", "staff", None, None, None, None]
    tail = ["read", "profile", None, "[]", None, "allowed", None, bytes(32), bytes(32)]
    assert canonical_from_row([*base, *tail]) is not None
    for index, value in ((3, "alien"), (1, "not-a-uuid"), (2, "yesterday"), (16, "text")):
        row = [*base, *tail]
        row[index] = value
        assert canonical_from_row(row) is None
    assert canonical_from_row([*base, *tail[:3], '{"a": 1}', *tail[4:]]) is None
