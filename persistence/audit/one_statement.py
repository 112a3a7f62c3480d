"""Appending a batch of audit events in one statement on PostgreSQL, when nobody else did.

The locked append (`SqlAuditSink.append_many`) costs six round trips: BEGIN, take the head,
insert the events, insert the tree nodes, record the new head, COMMIT. Under load each of
them also waits for a turn of a busy event loop, so a batch took tens of milliseconds and
every audited read waited for one. Most batches, though, follow this process's own previous
batch: the head it left is still the head.

`OneStatementAppender` remembers the head this process last wrote (seq, hash, frontier),
chains the batch onto it in memory, and sends ONE statement, atomic without a transaction
block:

    WITH head AS (UPDATE audit_head SET seq, hash, frontier = <new>
                  WHERE seq = <remembered> AND hash = <remembered> RETURNING seq),
         events AS (INSERT INTO audit_events SELECT <batch> WHERE EXISTS (SELECT FROM head)),
         nodes AS (INSERT INTO audit_tree_nodes SELECT <nodes> WHERE EXISTS (SELECT FROM head))
    SELECT count(*) FROM head

If another process or a data change's transaction moved the head meanwhile, the UPDATE
matches nothing (PostgreSQL re-checks the condition on the row another writer committed),
nothing is inserted, and the appender reads the head and tries once more; after that the
caller uses the locked path. The chain and tree stay exactly what the locked path builds:
same hashes, same nodes, consecutive seqs, the head moved with its events or not at all.
A batch in which a checkpoint falls due is left to the locked path, which signs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import AuditEvent, AuditRecord
from domain.audit.merkle import Frontier
from domain.clock import Clock
from persistence.audit.sink import chain, row_values
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow, AuditTreeNodeRow

_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHeadRow.__table__  # type: ignore[assignment]
_NODES: Table = AuditTreeNodeRow.__table__  # type: ignore[assignment]
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.frontier).where(_HEAD.c.id == HEAD_ROW_ID)


@dataclass(frozen=True, slots=True)
class _Head:
    seq: int
    hash: bytes
    frontier: bytes


class OneStatementAppender:
    """One-statement appends on PostgreSQL for `BatchingAuditLog` (see the module doc)."""

    def __init__(self, engine: AsyncEngine, clock: Clock, *, checkpoint_every: int) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("one-statement appends need PostgreSQL")
        # Each statement is atomic on its own: no BEGIN/COMMIT round trips.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock
        self._every = checkpoint_every
        self._head: _Head | None = None
        self.appended = 0
        """Batches stored this way (for tests and benchmarks)."""

    def forget_head(self) -> None:
        """Read the head again before the next attempt (after a locked append, say)."""
        self._head = None

    async def try_append(self, records: Sequence[AuditRecord]) -> list[AuditEvent] | None:
        """The stored events, or None when the caller must use the locked path (the head
        kept moving, or a checkpoint falls due in this batch)."""
        for _ in range(2):
            head = self._head or await self._read_head()
            if (head.seq + len(records)) // self._every > head.seq // self._every:
                return None
            try:
                frontier = Frontier.decode(head.seq, head.frontier)
            except ValueError:
                return None  # a damaged tree: the locked path reports it (AuditLogBroken)
            events, nodes = chain(records, head.seq + 1, head.hash, frontier, self._clock)
            after = _Head(events[-1].seq, events[-1].hash, frontier.encode())
            try:
                async with self._engine.connect() as connection:
                    moved = (
                        await connection.execute(_APPEND, _parameters(head, after, events, nodes))
                    ).scalar()
            except IntegrityError:
                # Tree nodes past the head (events removed from the log): nothing was stored,
                # and the locked path reports it (AuditLogBroken).
                self._head = None
                return None
            if moved:
                self._head = after
                self.appended += 1
                return events
            self._head = None
        return None

    async def _read_head(self) -> _Head:
        async with self._engine.connect() as connection:
            row = (await connection.execute(_READ_HEAD)).one_or_none()
        if row is None:
            raise RuntimeError("the audit_head row is missing: run `custodian migrate`")
        return _Head(int(row.seq), bytes(row.hash), bytes(row.frontier or b""))


# Fixed text, whatever the batch size (the rows travel as arrays), so PostgreSQL and the
# driver prepare it once per connection.
_EVENT_COLUMNS = (
    ("seq", "bigint"),
    ("id", "uuid"),
    ("at", "timestamptz"),
    ("actor_type", "varchar"),
    ("actor_id", "varchar"),
    ("actor_role", "varchar"),
    ("client_id", "varchar"),
    ("subject_id", "uuid"),
    ("action", "varchar"),
    ("resource_type", "varchar"),
    ("resource_id", "varchar"),
    ("fields", "text"),
    ("purpose", "varchar"),
    ("outcome", "varchar"),
    ("request_id", "varchar"),
    ("prev_hash", "bytea"),
    ("hash", "bytea"),
)
_NODE_COLUMNS = (("level", "smallint"), ("idx", "bigint"), ("hash", "bytea"))


def _unnest(columns: tuple[tuple[str, str], ...], first: int) -> str:
    arrays = ", ".join(f"CAST(:p{first + i} AS {kind}[])" for i, (_, kind) in enumerate(columns))
    names = ", ".join(name for name, _ in columns)
    return f"({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 - constants only


_HEAD_PARAMS = 5
_APPEND = text(
    f"""
    WITH head AS (
        UPDATE {_HEAD.name} SET seq = :p0, hash = :p1, frontier = :p2
        WHERE id = {HEAD_ROW_ID} AND seq = :p3 AND hash = :p4
        RETURNING seq
    ), stored_events AS (
        INSERT INTO {_EVENTS.name} {_unnest(_EVENT_COLUMNS, _HEAD_PARAMS)}
        WHERE EXISTS (SELECT FROM head)
    ), stored_nodes AS (
        INSERT INTO {_NODES.name} {_unnest(_NODE_COLUMNS, _HEAD_PARAMS + len(_EVENT_COLUMNS))}
        WHERE EXISTS (SELECT FROM head)
    )
    SELECT count(*) FROM head
    """  # noqa: S608 - table names and placeholders only; every value is a bound parameter
)


def _parameters(
    before: _Head, after: _Head, events: list[AuditEvent], nodes: list[dict[str, object]]
) -> dict[str, object]:
    rows = [row_values(event) for event in events]
    values: list[object] = [after.seq, after.hash, after.frontier, before.seq, before.hash]
    values += [[row[name] for row in rows] for name, _ in _EVENT_COLUMNS]
    values += [[node[name] for node in nodes] for name, _ in _NODE_COLUMNS]
    return {f"p{i}": value for i, value in enumerate(values)}
