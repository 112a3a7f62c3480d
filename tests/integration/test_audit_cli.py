"""`custodian audit verify`, run as an operator would: a process, an exit status, one line."""

from __future__ import annotations

from pathlib import Path

from audit_cli_support import DROP_TRIGGERS, append_events, custodian_audit
from audit_tampering import DROP_ALL, KEY, PastClock, append_signed, rewrite_one_without_heads
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


async def test_a_consistent_rewrite_after_deleting_the_signed_heads_exits_1(
    db_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    # What GET /v1/privacy/audit/verification flags, the command flags too: events older
    # than the tree head interval allows that no signed tree head covers.
    events = await append_signed(engine, 30, PastClock())
    status, out, err = await custodian_audit(db_url, tmp_path, "verify", master_key=KEY)
    assert status == 0, err
    assert "audit tree intact: signed tree heads verified: 3" in out

    async with engine.begin() as connection:
        for statement in DROP_ALL[engine.dialect.name]:
            await connection.execute(text(statement))
        await rewrite_one_without_heads(connection, events)
    status, out, err = await custodian_audit(db_url, tmp_path, "verify", master_key=KEY)
    assert status == 1, err
    chain, tree = out.splitlines()
    assert chain.startswith("audit log intact: 30 events")  # the chain alone is fooled
    assert tree == (
        "audit tree BROKEN at event 1: events from 1 on are older than the tree head interval "
        "allows, yet no signed tree head covers them (tree heads were deleted)"
    )
