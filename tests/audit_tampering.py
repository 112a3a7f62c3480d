"""Tampering with a stored audit log behind the application's back, for the tests that prove
appends are then refused."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import AuditEvent, event_leaf_hash
from domain.audit.merkle import Frontier


async def cut_tail(
    engine: AsyncEngine, events: Sequence[AuditEvent], keep: int, *, fix_frontier: bool
) -> None:
    """Delete every event after the first `keep` (dropping the trigger that forbids it) and
    move the head back onto event `keep`; with `fix_frontier` the recorded tree frontier too,
    as a careful forger would. The tree nodes of the removed events stay."""
    drop = {
        "postgresql": "DROP TRIGGER audit_events_append_only ON audit_events",
        "sqlite": "DROP TRIGGER audit_events_no_delete",
    }[engine.dialect.name]
    frontier = Frontier()
    for event in events[:keep]:
        frontier.append(event_leaf_hash(event))
    async with engine.begin() as connection:
        await connection.execute(text(drop))
        await connection.execute(text("DELETE FROM audit_events WHERE seq > :keep"), {"keep": keep})
        move = "UPDATE audit_head SET seq = :keep, hash = :h" + (
            ", frontier = :f" if fix_frontier else ""
        )
        await connection.execute(
            text(move), {"keep": keep, "h": events[keep - 1].hash, "f": frontier.encode()}
        )
