"""Tampering as an insider with database access would (triggers dropped first), on both
engines: each attack is caught by `audit verify --against` a witnessed tree head and by the
officer's verification (the report behind GET /v1/privacy/audit/verification), located at
the first bad event where the evidence allows."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from audit_tampering import (
    DROP_ALL,
    KEY,
    PastClock,
    append_signed,
    move_head,
    rebuild_nodes,
    rewrite_one_without_heads,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.cli.audit import run_audit_verify
from api.cli.witness import run_witness
from domain.audit.events import AuditEvent, seal
from persistence.audit.checkpoints import audit_report
from persistence.crypto import MasterKey
from persistence.signatures import checkpoint_signer


async def witness(db_url: str, file: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = await asyncio.to_thread(run_witness, db_url, KEY, file, out=out, err=out)
    return status, out.getvalue()


async def verify(db_url: str, file: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = await asyncio.to_thread(
        run_audit_verify, db_url, KEY, against=file, tree_head_interval=60, out=out, err=out
    )
    return status, out.getvalue()


def _rewritten(events: list[AuditEvent], start: int) -> list[AuditEvent]:
    """Events from seq `start` on with another action, every hash recomputed."""
    result, prev = list(events[: start - 1]), events[start - 2].hash
    for event in events[start - 1 :]:
        forged = seal(event.seq, event.id, event.at, replace(event.record, action="forged"), prev)
        result.append(forged)
        prev = forged.hash
    return result


async def _store_rewrite(connection: AsyncConnection, events: list[AuditEvent], start: int) -> None:
    for event in events[start - 1 :]:
        await connection.execute(
            text(
                "UPDATE audit_events SET action = 'forged', prev_hash = :p, hash = :h "
                "WHERE seq = :s"
            ),
            {"p": event.prev_hash, "h": event.hash, "s": event.seq},
        )


async def edit_one(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    await connection.execute(text("UPDATE audit_events SET action = 'forged' WHERE seq = 15"))


async def delete_one(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    await connection.execute(text("DELETE FROM audit_events WHERE seq = 15"))


async def truncate_tail(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    await connection.execute(text("DELETE FROM audit_events WHERE seq > 20"))
    await move_head(connection, events[:20])


async def insert_or_replace(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    columns = (
        "seq, id, at, actor_type, actor_id, actor_role, client_id, subject_id, {action}, "
        "resource_type, resource_id, fields, purpose, outcome, request_id, prev_hash, hash"
    )
    forged = columns.format(action="'forged'")
    select = f"SELECT {forged} FROM audit_events WHERE seq = 15"
    target = f"audit_events ({columns.format(action='action')})"
    if connection.dialect.name == "sqlite":
        await connection.execute(text(f"INSERT OR REPLACE INTO {target} {select}"))
    else:
        await connection.execute(
            text(f"INSERT INTO {target} {select} ON CONFLICT (seq) DO UPDATE SET action = 'forged'")
        )


async def rewrite_suffix(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    forged = _rewritten(events, 15)
    await _store_rewrite(connection, forged, 15)
    await move_head(connection, forged)


async def rewrite_suffix_and_tree(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    forged = _rewritten(events, 15)
    await _store_rewrite(connection, forged, 15)
    await rebuild_nodes(connection, forged)
    await move_head(connection, forged)


async def delete_heads_then_truncate(connection: AsyncConnection, events: list[AuditEvent]) -> None:
    await connection.execute(text("DELETE FROM audit_tree_heads"))
    await connection.execute(text("DELETE FROM audit_events WHERE seq > 20"))
    await rebuild_nodes(connection, events[:20])
    await move_head(connection, events[:20])


Attack = Callable[[AsyncConnection, list[AuditEvent]], Awaitable[None]]
# (attack, first bad event named by verify --against, by the officer's verification)
ATTACKS: dict[str, tuple[Attack, int, int]] = {
    "edit one event": (edit_one, 15, 15),
    "delete one event": (delete_one, 15, 15),
    "truncate the tail": (truncate_tail, 21, 21),
    "insert or replace": (insert_or_replace, 15, 15),
    "rewrite a suffix, hashes recomputed": (rewrite_suffix, 15, 15),
    # The recorded leaves rewritten too: only the signed roots disagree, at head 20, so the
    # break is located between the last head that holds (10) and that one.
    "rewrite a suffix and the tree": (rewrite_suffix_and_tree, 11, 11),
    # Only the witness file remembers 30 events; the officer's check sees events an hour old
    # that no signed head covers.
    "delete tree heads, then truncate": (delete_heads_then_truncate, 21, 1),
    # The witnessed head of 10 still holds, that of 30 does not.
    "delete tree heads, then rewrite one event": (rewrite_one_without_heads, 11, 1),
}


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_each_attack_is_caught_and_located(
    name: str, engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    attack, against_seq, officer_seq = ATTACKS[name]
    clock = PastClock()
    file = tmp_path / "witness.jsonl"
    events = await append_signed(engine, 10, clock)
    assert (await witness(db_url, file))[0] == 0
    events += await append_signed(engine, 20, clock)
    assert (await witness(db_url, file))[0] == 0
    status, output = await verify(db_url, file)
    assert status == 0, output
    assert "signed tree heads verified: 3, witnessed: 2" in output

    async with engine.begin() as connection:
        for statement in DROP_ALL[engine.dialect.name]:
            await connection.execute(text(statement))
        await attack(connection, events)

    status, output = await verify(db_url, file)
    assert status == 1, output
    assert f"BROKEN at event {against_seq}" in output
    jwk = checkpoint_signer(MasterKey(KEY)).jwk()
    report = await audit_report(engine, jwk, stale_after=timedelta(seconds=180))
    assert not report.intact
    found = [
        failure
        for failure in (report.chain_failure_seq, report.tree_failure and report.tree_failure.seq)
        if failure
    ]
    assert min(found) == officer_seq, report


async def test_the_witness_refuses_a_log_that_no_longer_extends_its_last_head(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "witness.jsonl"
    events = await append_signed(engine, 30, PastClock())
    assert (await witness(db_url, file))[0] == 0
    before = file.read_text()
    async with engine.begin() as connection:
        for statement in DROP_ALL[engine.dialect.name]:
            await connection.execute(text(statement))
        await delete_heads_then_truncate(connection, events)
    status, output = await witness(db_url, file)
    assert status == 1
    assert "events were deleted" in output
    assert file.read_text() == before  # nothing witnessed


async def test_a_forged_witness_file_is_refused_in_one_line(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "witness.jsonl"
    await append_signed(engine, 3, PastClock())
    assert (await witness(db_url, file))[0] == 0
    file.write_text(file.read_text().replace('"tree_size": 3', '"tree_size": 2'))
    status, output = await verify(db_url, file)
    assert status == 2
    assert output.count("\n") == 1
    assert "does not verify" in output or "differs from what was signed" in output
