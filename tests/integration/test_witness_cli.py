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
        # The right edge of a tree of four leaves is its root, a node kept for proofs: the
        # head now describes a log of four events throughout.
        await connection.execute(
            text(
                "UPDATE audit_head SET seq = 4, hash = :h, frontier = "
                "(SELECT hash FROM audit_tree_nodes WHERE level = 2 AND idx = 0)"
            ),
            {"h": events[3].hash},
        )
    status, out, err = await custodian_audit(db_url, tmp_path, "verify", "--against", str(file))
    assert status == 1
    assert "audit tree BROKEN at event 5" in out
    assert "Traceback" not in err

    # Witnessing the shortened log refuses, and signs nothing: a head of the tampered tree,
    # stored beside the honest ones, would be one more signature an attacker could show.
    heads = await _signed_tree_heads(engine)
    status, out, err = await custodian_audit(db_url, tmp_path, "witness", "--file", str(file))
    assert (status, err) == (1, "")
    assert out.startswith("audit log BROKEN: the log has 4 events, the witnessed head 6")
    assert await _signed_tree_heads(engine) == heads
    assert file.read_text().count("\n") == 1


async def _signed_tree_heads(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        sizes = await connection.execute(
            text("SELECT tree_size FROM audit_tree_heads ORDER BY tree_size")
        )
        return [int(size) for size in sizes.scalars()]


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
