"""`custodian audit verify`, run as an operator would: a process, an exit status, one line."""

from __future__ import annotations

from pathlib import Path

from audit_cli_support import DROP_TRIGGERS, append_events, custodian_audit
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_an_intact_log_exits_0_and_names_its_head(
    db_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    events = await append_events(engine, 3)
    status, out, err = await custodian_audit(db_url, tmp_path, "verify")
    assert (status, out) == (0, f"audit log intact: 3 events, head {events[-1].hash.hex()}\n"), err


async def test_an_altered_event_exits_1_and_names_it(
    db_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    events = await append_events(engine, 4)
    async with engine.begin() as connection:
        for statement in DROP_TRIGGERS[engine.dialect.name]:
            await connection.execute(text(statement))
        await connection.execute(
            text("UPDATE audit_events SET action = 'consents.write' WHERE seq = 2")
        )
    status, out, err = await custodian_audit(db_url, tmp_path, "verify")
    assert status == 1, err
    assert out == (
        f"audit log BROKEN at event 2 (id {events[1].id}): "
        "contents do not match the event's hash (altered)\n"
    )
