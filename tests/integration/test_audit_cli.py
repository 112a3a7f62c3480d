"""`custodian audit verify`, run as an operator would: a process, an exit status, one line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from domain.audit import Actor, ActorType, AuditEvent, AuditRecord
from persistence.audit import SqlAuditSink

CUSTODIAN = Path(sys.executable).with_name("custodian")
ROOT = Path(__file__).resolve().parents[2]

DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER audit_events_append_only ON audit_events"],
    "sqlite": ["DROP TRIGGER audit_events_no_update"],
}


async def append_events(engine: AsyncEngine, count: int) -> list[AuditEvent]:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    events = []
    for n in range(count):
        async with maker() as session, session.begin():
            record = AuditRecord(Actor(ActorType.CUSTOMER, f"customer-{n}", "web"),
                                 "consents.read", "consent", request_id=f"req-{n}")
            events.append(await SqlAuditSink(session).append(record))
    return events


async def custodian_audit_verify(db_url: str, data_dir: Path) -> tuple[int, str, str]:
    environment = {**os.environ, "CUSTODIAN_DATABASE_URL": db_url,
                   "CUSTODIAN_DATA_DIR": str(data_dir), "CUSTODIAN_ENV": "development"}
    process = await asyncio.create_subprocess_exec(
        str(CUSTODIAN), "audit", "verify", cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_an_intact_log_exits_0_and_names_its_head(
        db_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    events = await append_events(engine, 3)
    status, out, err = await custodian_audit_verify(db_url, tmp_path)
    assert (status, out) == (0, f"audit log intact: 3 events, head {events[-1].hash.hex()}\n"), err


async def test_an_altered_event_exits_1_and_names_it(
        db_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    events = await append_events(engine, 4)
    async with engine.begin() as connection:
        for statement in DROP_TRIGGERS[engine.dialect.name]:
            await connection.execute(text(statement))
        await connection.execute(
            text("UPDATE audit_events SET action = 'consents.write' WHERE seq = 2"))
    status, out, err = await custodian_audit_verify(db_url, tmp_path)
    assert status == 1, err
    assert out == (f"audit log BROKEN at event 2 (id {events[1].id}): "
                   "contents do not match the event's hash (altered)\n")
