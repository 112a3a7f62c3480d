"""Audit chain storage: `SqlAuditSink` appends events inside the caller's transaction.

The verification side (streaming the stored chain back through `ChainVerifier`) is in
`persistence.audit.verify`; both are re-exported here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from sqlalchemy import String, Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit.events import AuditEvent, AuditRecord, seal_with_leaf
from domain.audit.merkle import Frontier
from domain.audit.tree_check import AuditLogBroken
from domain.clock import Clock, SystemClock
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow, AuditTreeNodeRow
from persistence.audit.timing import AUDIT_APPEND_SECONDS
from persistence.audit.verify import VerificationReport, verify_log

__all__ = [
    "SqlAuditSink",
    "VerificationReport",
    "chain",
    "check_record_lengths",
    "event_id",
    "row_values",
    "verify_log",
]


def _column_limit(name: str) -> int:
    column_type = AuditEventRow.__table__.c[name].type
    assert isinstance(column_type, String)
    assert column_type.length is not None
    return column_type.length


# Enforced here rather than by the database because SQLite ignores VARCHAR lengths: the
# same record must be accepted or refused on both engines.
_LIMITS = {
    name: _column_limit(name)
    for name in (
        "actor_id",
        "actor_role",
        "client_id",
        "action",
        "resource_type",
        "resource_id",
        "purpose",
        "request_id",
    )
}

# Take the head by writing to it first, on both engines:
# - PostgreSQL: the UPDATE takes the head row's lock until the caller's transaction ends,
#   and in READ COMMITTED a waiting appender re-reads the row the previous one committed
#   before adding one, so RETURNING hands every appender a distinct seq and the hash it
#   must chain onto. It costs the same round trip as SELECT ... FOR UPDATE.
# - SQLite: a SELECT in a deferred transaction takes only a shared lock, so two processes
#   could read the same head and fork the chain. Starting with the write makes SQLite take
#   the database write lock (waiting out busy_timeout) before anything is read. The engines
#   from persistence.database already open every transaction with BEGIN IMMEDIATE; the sink
#   stays correct on a session that does not.
# The head is rolled back with the rest of the transaction, so an abandoned unit of work
# leaves neither an event nor a gap in seq (unlike a database sequence).
_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHeadRow.__table__  # type: ignore[assignment]

# Core statements on the tables, built once: the ORM's DML path would rebuild and inspect
# them on every append, and costs more than the database round trips themselves.
_INSERT_EVENT = insert(_EVENTS)
_NODES: Table = AuditTreeNodeRow.__table__  # type: ignore[assignment]
_INSERT_NODES = insert(_NODES)
# A batch takes the lock once and reserves `n` consecutive seqs (see append_many).
_ADVANCE_HEAD_BY = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW_ID)
    .values(seq=_HEAD.c.seq + bindparam("n"))
    .returning(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.frontier)
)
_RECORD_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW_ID)
    .values(hash=bindparam("new_hash"), frontier=bindparam("new_frontier"))
)


class CheckpointHook(Protocol):
    """Told about every appended event (persistence.audit.checkpoints.CheckpointWriter)."""

    async def after_append(self, event: AuditEvent) -> None: ...

    async def after_tree_append(self, appended: int, tree_size: int, root: bytes) -> None:
        """Told once per batch, after `appended` leaves made the tree `tree_size` big."""
        ...


class SqlAuditSink:
    """`domain.ports.AuditSink` on the `audit_events` table, in the session's transaction.

    Appending holds the chain's lock (the `audit_head` row) until the caller's transaction
    ends, so use cases should append when their other work is done and commit promptly.
    """

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock | None = None,
        checkpoints: CheckpointHook | None = None,
    ) -> None:
        self._session = session
        self._clock: Clock = clock or SystemClock()
        self._checkpoints = checkpoints

    async def append(self, record: AuditRecord) -> AuditEvent:
        """Chain `record` onto the log and into the Merkle tree: durable when, and only if,
        the caller commits. Raises ValueError, before touching the database, when a value
        is longer than its column allows."""
        with AUDIT_APPEND_SECONDS.labels("write").time():
            return (await self.append_many([record]))[0]

    async def append_many(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        """Chain `records`, in order, onto the log as consecutive events and leaves of the
        Merkle tree: durable when, and only if, the caller commits.

        Four statements for the whole batch: advance the head by len(records) (taking the
        chain lock and reading the tree's frontier), insert every event, insert every tree
        node the batch completed, record the last hash and the new frontier. ValueError,
        before any statement, for an over-long value in any record.
        """
        for record in records:
            _check_lengths(record)
        if not records:
            return []
        # The session's connection, so everything happens in the caller's transaction.
        connection = await self._session.connection()
        head = (await connection.execute(_ADVANCE_HEAD_BY, {"n": len(records)})).one_or_none()
        if head is None:
            raise RuntimeError("the audit_head row is missing: run `custodian migrate`")
        last_seq, prev_hash, stored_frontier = head
        first_seq = last_seq - len(records) + 1
        try:
            frontier = Frontier.decode(first_seq - 1, bytes(stored_frontier or b""))
        except ValueError:
            raise AuditLogBroken("the recorded tree frontier does not match the log") from None
        # The time is read under the lock, so event times never go backwards along the chain
        # (on one clock).
        events, nodes = chain(records, first_seq, bytes(prev_hash), frontier, self._clock)
        await connection.execute(_INSERT_EVENT, [row_values(event) for event in events])
        try:
            await connection.execute(_INSERT_NODES, nodes)
        except IntegrityError as error:
            # Only a tree node left behind by events removed from the log collides here. Any
            # other failure (a connection lost mid-append) is no sign of tampering and is
            # raised as it is: the transaction rolls back and nothing was appended.
            raise AuditLogBroken("the tree already holds nodes past the log's head") from error
        await connection.execute(
            _RECORD_HEAD, {"new_hash": events[-1].hash, "new_frontier": frontier.encode()}
        )
        if self._checkpoints is not None:
            # Still under the chain lock: checkpoints and tree heads commit with the events.
            for event in events:
                await self._checkpoints.after_append(event)
            await self._checkpoints.after_tree_append(len(events), frontier.size, frontier.root())
        return events


def chain(
    records: Sequence[AuditRecord], first_seq: int, prev: bytes, frontier: Frontier, clock: Clock
) -> tuple[list[AuditEvent], list[dict[str, object]]]:
    """Seal `records` as events `first_seq`, ... chained onto `prev`, and append their leaves
    to `frontier` (in place); the events and the tree nodes they completed (as row values)."""
    events: list[AuditEvent] = []
    nodes: list[dict[str, object]] = []
    for seq, record in enumerate(records, start=first_seq):
        at = _as_utc(clock.now())  # stored as UTC: SQLite drops the offset
        event, leaf = seal_with_leaf(seq, event_id(at), at, record, prev)
        events.append(event)
        prev = event.hash
        for node, digest in frontier.append(leaf):
            nodes.append({"level": node.level, "idx": node.index, "hash": digest})
    return events, nodes


def event_id(at: datetime) -> UUID:
    """A new event's id: a UUIDv7 (RFC 9562), the 48 bits of `at` in milliseconds since the
    epoch first, then 74 random bits around the version and variant fields.

    Events are appended in time order, so their ids are too (within a millisecond, in any
    order): each goes in at the right-hand end of the unique index on `audit_events.id`, where
    a random id went to a random page of it (with a million events stored, SQLite's commit of
    16 events took 570 µs with random ids, 78 µs with these). The time it shows is the
    event's own `at`, which the event shows anyway."""
    random = int.from_bytes(os.urandom(10))
    millis = int(at.timestamp() * 1000) & _MASK_48
    return UUID(
        int=millis << 80
        | 0x7 << 76  # version 7
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62  # the RFC's variant
        | random & _MASK_62
    )


_MASK_48 = (1 << 48) - 1
_MASK_62 = (1 << 62) - 1


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the clock must return timezone-aware times")
    return moment.astimezone(UTC)


def check_record_lengths(record: AuditRecord) -> None:
    """Raise ValueError when a value of `record` is longer than its column allows."""
    _check_lengths(record)


def _check_lengths(record: AuditRecord) -> None:
    values = {
        "actor_id": record.actor.id,
        "actor_role": record.actor.role,
        "client_id": record.actor.client_id,
        "action": record.action,
        "resource_type": record.resource_type,
        "resource_id": record.resource_id,
        "purpose": record.purpose,
        "request_id": record.request_id,
    }
    for name, value in values.items():
        if value is not None and len(value) > _LIMITS[name]:
            raise ValueError(f"audit {name} is longer than {_LIMITS[name]} characters")


def row_values(event: AuditEvent) -> dict[str, object]:
    """The `audit_events` row of `event`."""
    record = event.record
    return {
        "seq": event.seq,
        "id": event.id,
        "at": event.at,
        "actor_type": record.actor.type.value,
        "actor_id": record.actor.id,
        "actor_role": record.actor.role,
        "client_id": record.actor.client_id,
        "subject_id": record.subject_id,
        "action": record.action,
        "resource_type": record.resource_type,
        "resource_id": record.resource_id,
        "fields": json.dumps(list(record.fields)),
        "purpose": record.purpose,
        "outcome": record.outcome.value,
        "request_id": record.request_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
