"""`custodian audit checkpoint --export FILE` and `custodian audit verify` with checkpoints,
run as an operator would: processes, exit statuses, files."""

from __future__ import annotations

import json
from pathlib import Path

from audit_cli_support import DROP_TRIGGERS, append_events, custodian_audit
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import GENESIS_HASH, AuditRecord, seal
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow


async def test_export_then_detect_a_consistent_rewrite(
    db_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    events = await append_events(engine, 3)
    exported = tmp_path / "checkpoint.json"
    status, out, err = await custodian_audit(
        db_url, tmp_path, "checkpoint", "--export", str(exported)
    )
    assert status == 0, err
    assert f"checkpoint at event 3, head {events[-1].hash.hex()}" in out
    document = json.loads(exported.read_text())
    assert document["seq"] == document["event_count"] == 3
    assert document["head_hash"] == events[-1].hash.hex()
    assert document["signature"].count(".") == 2

    status, out, err = await custodian_audit(db_url, tmp_path, "verify")
    assert status == 0, err
    assert "audit checkpoints intact: 1 verified" in out

    # Rewrite the whole chain consistently, as someone with the database password could.
    async with engine.begin() as connection:
        for statement in DROP_TRIGGERS[engine.dialect.name]:
            await connection.execute(text(statement))
        prev = GENESIS_HASH
        for event in events:
            record = AuditRecord(
                event.record.actor,
                "nothing",
                event.record.resource_type,
                request_id=event.record.request_id,
            )
            forged = seal(event.seq, event.id, event.at, record, prev)
            await connection.execute(
                update(AuditEventRow)
                .where(AuditEventRow.seq == event.seq)
                .values(action="nothing", prev_hash=prev, hash=forged.hash)
            )
            prev = forged.hash
        await connection.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ROW_ID).values(hash=prev)
        )
    status, out, _ = await custodian_audit(db_url, tmp_path, "verify")
    assert status == 1
    assert out.splitlines()[0].startswith("audit log intact")  # the chain alone is fooled
    assert out.splitlines()[1].startswith("audit checkpoint BROKEN at event 3")


async def test_checkpoint_of_an_empty_log_exits_2(db_url: str, tmp_path: Path) -> None:
    status, out, _ = await custodian_audit(db_url, tmp_path, "checkpoint")
    assert status == 2
    assert "empty" in out
