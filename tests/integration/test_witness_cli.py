"""`custodian audit witness --file` and `custodian audit verify --against`, as an officer runs
them: exit status, one line per finding, never a traceback."""

from __future__ import annotations

from pathlib import Path

from audit_cli_support import append_events, custodian_audit
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DROP = {
    "postgresql": ["DROP TRIGGER audit_events_append_only ON audit_events"],
    "sqlite": ["DROP TRIGGER audit_events_no_delete"],
}


async def test_witness_then_verify_against_catches_a_truncated_tail(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    events = await append_events(engine, 6)
    file = tmp_path / "off-the-box" / "witness.jsonl"
    file.parent.mkdir()
    status, out, err = await custodian_audit(db_url, tmp_path, "witness", "--file", str(file))
    assert (status, err) == (0, "")
    assert out.startswith("witnessed tree head of 6 events")
    status, out, _ = await custodian_audit(db_url, tmp_path, "verify", "--against", str(file))
    assert status == 0
    assert "witnessed: 1" in out

    async with engine.begin() as connection:
        for statement in DROP[engine.dialect.name]:
            await connection.execute(text(statement))
        await connection.execute(text("DELETE FROM audit_events WHERE seq > 4"))
        await connection.execute(
            text("UPDATE audit_head SET seq = 4, hash = :h"), {"h": events[3].hash}
        )
    status, out, err = await custodian_audit(db_url, tmp_path, "verify", "--against", str(file))
    assert status == 1
    assert "audit tree BROKEN at event 5" in out
    assert "Traceback" not in err


async def test_a_missing_or_garbled_witness_file_is_one_line_and_exit_2(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    await append_events(engine, 2)
    missing = tmp_path / "nowhere.jsonl"
    status, _, err = await custodian_audit(db_url, tmp_path, "verify", "--against", str(missing))
    assert status == 2
    assert err.count("\n") == 1
    assert "no such witness file" in err
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text("not json\n")
    status, _, err = await custodian_audit(db_url, tmp_path, "witness", "--file", str(garbled))
    assert status == 2
    assert err.strip() == f"custodian: error: {garbled}:1: not a tree head"
