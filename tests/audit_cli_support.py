"""What the `custodian audit` command tests share: seeding events, dropping the append-only
triggers as an attacker with database access would, and running the real command."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from domain.audit.events import Actor, ActorType, AuditEvent, AuditRecord
from persistence.audit.sink import SqlAuditSink

CUSTODIAN = Path(sys.executable).with_name("custodian")
ROOT = Path(__file__).resolve().parents[1]

DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER audit_events_append_only ON audit_events"],
    "sqlite": ["DROP TRIGGER audit_events_no_update"],
}


async def append_events(engine: AsyncEngine, count: int) -> list[AuditEvent]:
    """Append `count` events, each in its own committed transaction."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    events = []
    for n in range(count):
        async with maker() as session, session.begin():
            record = AuditRecord(
                Actor(ActorType.CUSTOMER, f"customer-{n}", "web"),
                "consents.read",
                "consent",
                request_id=f"req-{n}",
            )
            events.append(await SqlAuditSink(session).append(record))
    return events


async def custodian_audit(
    db_url: str, data_dir: Path, *args: str, master_key: bytes | None = None
) -> tuple[int, str, str]:
    """Run `custodian audit ARGS` on the database; its exit status, stdout and stderr.

    With `master_key`, the command uses it (to check what was signed under it); else the
    development key it creates in `data_dir`.
    """
    environment = {
        **os.environ,
        "CUSTODIAN_DATABASE_URL": db_url,
        "CUSTODIAN_DATA_DIR": str(data_dir),
        "CUSTODIAN_ENV": "development",
    }
    if master_key is not None:
        environment["CUSTODIAN_MASTER_KEY"] = base64.b64encode(master_key).decode()
    process = await asyncio.create_subprocess_exec(
        str(CUSTODIAN),
        "audit",
        *args,
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()
