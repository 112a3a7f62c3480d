"""Tampering with a stored audit log behind the application's back, as an insider with
database access would, for the tests that prove it is caught (and appends then refused)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.audit.events import (
    Actor,
    ActorType,
    AuditEvent,
    AuditRecord,
    Outcome,
    event_leaf_hash,
    seal,
)
from domain.audit.merkle import Frontier
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.uow import SqlUnitOfWork

KEY = bytes(range(32))
"""The master key the signed events are appended with (its checkpoint key signs them)."""

DROP_ALL = {
    "postgresql": [
        f"DROP TRIGGER {table}_append_only ON {table}"
        for table in ("audit_events", "audit_tree_nodes", "audit_tree_heads", "audit_checkpoints")
    ],
    "sqlite": [
        f"DROP TRIGGER {table}_no_{verb}"
        for table in ("audit_events", "audit_tree_nodes", "audit_tree_heads", "audit_checkpoints")
        for verb in ("update", "delete", "replace")
    ],
}
"""Every trigger that keeps the audit tables append-only."""


class PastClock:
    """Events appended an hour ago, one second apart (the signing timer has long passed)."""

    def __init__(self) -> None:
        self._next = datetime.now(UTC) - timedelta(hours=1)

    def now(self) -> datetime:
        self._next += timedelta(seconds=1)
        return self._next


async def append_signed(engine: AsyncEngine, count: int, clock: PastClock) -> list[AuditEvent]:
    """Append `count` events, each committed alone, with a signed checkpoint and tree head
    every 10 events (under `KEY`)."""
    events = []
    for n in range(count):
        uow = SqlUnitOfWork(session_factory(engine), MasterKey(KEY), clock)
        uow.checkpoint_every = 10
        async with uow:
            record = AuditRecord(
                Actor(ActorType.STAFF, f"staff-{n}", role="officer"), "x.read", "thing"
            )
            events.append(await uow.audit.append(record))
            await uow.commit()
    return events


async def move_head(connection: AsyncConnection, events: Sequence[AuditEvent]) -> None:
    """Make audit_head (seq, hash, frontier) agree with `events`, as a careful attacker."""
    frontier = Frontier()
    for event in events:
        frontier.append(event_leaf_hash(event))
    await connection.execute(
        text("UPDATE audit_head SET seq = :seq, hash = :hash, frontier = :frontier"),
        {"seq": len(events), "hash": events[-1].hash, "frontier": frontier.encode()},
    )


async def rebuild_nodes(connection: AsyncConnection, events: Sequence[AuditEvent]) -> None:
    """Replace every recorded tree node with those of `events`."""
    await connection.execute(text("DELETE FROM audit_tree_nodes"))
    frontier = Frontier()
    for event in events:
        for node, digest in frontier.append(event_leaf_hash(event)):
            await connection.execute(
                text("INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                {"l": node.level, "i": node.index, "h": digest},
            )


async def rewrite_one_without_heads(
    connection: AsyncConnection, events: Sequence[AuditEvent], seq: int = 15
) -> None:
    """Delete every signed tree head and checkpoint, then give event `seq` another action
    and outcome and recompute everything that depends on it (the chain after it, the tree
    nodes, the head): a consistent rewrite that only the signing timer's absence, or a
    head witnessed off the box, gives away. Triggers must be dropped (`DROP_ALL`)."""
    await connection.execute(text("DELETE FROM audit_tree_heads"))
    await connection.execute(text("DELETE FROM audit_checkpoints"))
    forged, prev = list(events[: seq - 1]), events[seq - 2].hash
    for event in events[seq - 1 :]:
        record = event.record
        if event.seq == seq:
            record = replace(record, action="forged", outcome=Outcome.DENIED)
        forged.append(seal(event.seq, event.id, event.at, record, prev))
        prev = forged[-1].hash
    await connection.execute(
        text("UPDATE audit_events SET action = 'forged', outcome = 'denied' WHERE seq = :s"),
        {"s": seq},
    )
    for event in forged[seq - 1 :]:
        await connection.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": event.prev_hash, "h": event.hash, "s": event.seq},
        )
    await rebuild_nodes(connection, forged)
    await move_head(connection, forged)


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
