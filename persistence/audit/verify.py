"""Verifying the stored audit chain: stream every event through `ChainVerifier`.

Events are read in seq order in keyset batches (`seq > last ORDER BY seq LIMIT n`), which
keeps memory constant, needs no server-side cursor, and works the same on both engines.
Columns are read as the driver returns them, without SQLAlchemy's type conversion, so that
a value someone wrote straight into the database that cannot even be parsed (SQLite lets
any column hold anything) is reported as an altered event instead of crashing the check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, RowMapping, Select, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.types import NullType

from domain.audit.events import (
    GENESIS_HASH,
    Actor,
    ActorType,
    AuditEvent,
    AuditRecord,
    ChainBreak,
    ChainVerifier,
    Outcome,
    canonical_bytes,
)
from domain.audit.merkle import LEAF_PREFIX
from domain.audit.tree_check import TreeChecker
from persistence.audit.raw_canonical import canonical_from_row
from persistence.audit.tables import HEAD_ROW_ID, AuditEventRow, AuditHeadRow, AuditTreeNodeRow

DEFAULT_BATCH_SIZE = 1000

_Row = RowMapping | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The outcome of one walk over the stored chain.

    `events_checked` events verified before the first break (all of them when intact);
    `head_seq`/`head_hash` are what `audit_head` recorded when the walk began.
    """

    events_checked: int
    head_seq: int
    head_hash: bytes
    failure: ChainBreak | None

    @property
    def intact(self) -> bool:
        """True when every event up to the recorded head is present, in order, unaltered."""
        return self.failure is None

    @property
    def head_hash_hex(self) -> str:
        """The recorded head hash as lowercase hex (what a signed checkpoint would name)."""
        return self.head_hash.hex()


async def verify_log(
    source: AsyncEngine | AsyncConnection | AsyncSession,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    tree: TreeChecker | None = None,
) -> VerificationReport:
    """Check the whole stored chain against itself and against `audit_head`.

    Finds the first altered, missing, inserted or reordered event (or events beyond the
    recorded head) and names its seq and id. Reads `batch_size` events at a time, in
    constant memory, and never writes. Safe while others append: the walk stops at the head
    read when it began, so events appended meanwhile are left for the next check.

    Given an engine, each batch is read in its own short transaction, so appenders are never
    held up for the length of the walk (on SQLite every transaction takes the write lock).
    Given a connection or session, everything is read in the caller's transaction.
    With `tree`, each event the chain accepts is also fed, as a Merkle leaf with the leaf
    recorded when it was appended, to that checker (which stops the walk when it fails).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if isinstance(source, AsyncEngine):
        async with source.connect() as connection:

            async def fetch_briefly(statement: Executable) -> Sequence[Row[Any]]:
                try:
                    return (await connection.execute(statement)).all()
                finally:
                    await connection.rollback()  # read-only: nothing to keep

            return await _verify(fetch_briefly, batch_size, tree)

    async def fetch(statement: Executable) -> Sequence[Row[Any]]:
        return (await source.execute(statement)).all()

    return await _verify(fetch, batch_size, tree)


_Fetch = Callable[[Executable], Awaitable[Sequence[Row[Any]]]]


async def _verify(fetch: _Fetch, batch_size: int, tree: TreeChecker | None) -> VerificationReport:
    heads = await fetch(_HEAD)
    if not heads:
        missing = ChainBreak(1, None, "the recorded head (audit_head) is missing")
        return VerificationReport(0, 0, GENESIS_HASH, missing)
    head_seq, head_hash = int(heads[0].seq), bytes(heads[0].hash)

    verifier = ChainVerifier()
    after: int | None = None
    while verifier.failure is None:
        rows = await fetch(_batch(after, head_seq, batch_size))
        if not _walk(verifier, tree, rows) or len(rows) < batch_size:
            break
        after = int(rows[-1].seq)
    failure = verifier.finish(head_seq, head_hash)
    if failure is None:
        failure = await _find_events_beyond_head(fetch, head_seq)
    return VerificationReport(verifier.checked, head_seq, head_hash, failure)


def _walk(verifier: ChainVerifier, tree: TreeChecker | None, rows: Sequence[Row[Any]]) -> bool:
    """Feed a batch to the chain (and tree) checkers; False once the chain has failed.

    Each event's canonical bytes are built once, straight from the row, and hashed twice
    (chain hash, Merkle leaf); rows in any unexpected form take the exact, slow path.
    """
    sha256 = hashlib.sha256
    for row in rows:
        canonical = canonical_from_row(row)
        if canonical is None:
            event = _feed(verifier, row._mapping)
            if event is None:
                return verifier.failure is None
            canonical = canonical_bytes(
                event.seq, event.id, event.at, event.record, event.prev_hash
            )
            seq = event.seq
        else:
            seq = int(row.seq)
            failure = verifier.feed_hashed(
                seq,
                _uuid_or_none(row.id),
                bytes(row.prev_hash),
                bytes(row.hash),
                sha256(canonical).digest(),
            )
            if failure is not None:
                return False
        if tree is not None and tree.failure is None:
            # After the tree's first break the chain walk goes on alone, so its own report
            # stays complete (and says whether the chain was fooled).
            recorded = row.recorded_leaf
            leaf = sha256(LEAF_PREFIX + canonical).digest()
            tree.add(seq, leaf, None if recorded is None else bytes(recorded))
    return True


_HEAD = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == HEAD_ROW_ID)

_RAW_COLUMNS: list[ColumnElement[Any]] = [
    type_coerce(column, NullType()).label(column.name) for column in AuditEventRow.__table__.columns
]


# The leaf recorded for each event when it was appended (tree level 0, index seq - 1).
_LEAVES = AuditTreeNodeRow.__table__.alias("recorded")
_RECORDED_LEAF = type_coerce(_LEAVES.c.hash, NullType()).label("recorded_leaf")
_WITH_LEAVES = AuditEventRow.__table__.outerjoin(
    _LEAVES, (_LEAVES.c.level == 0) & (_LEAVES.c.idx == AuditEventRow.seq - 1)
)


def _batch(after: int | None, upto: int, size: int) -> Select[Any]:
    # The first batch has no lower bound, so rows someone added with seq <= 0 are seen too.
    query = (
        select(*_RAW_COLUMNS, _RECORDED_LEAF)
        .select_from(_WITH_LEAVES)
        .where(AuditEventRow.seq <= upto)
    )
    if after is not None:
        query = query.where(AuditEventRow.seq > after)
    return query.order_by(AuditEventRow.seq).limit(size)


def _feed(verifier: ChainVerifier, row: _Row) -> AuditEvent | None:
    seq = int(row["seq"])
    try:
        event = decode_event(row)
    except (TypeError, ValueError, KeyError) as error:
        event_id = _uuid_or_none(row.get("id"))
        verifier.reject(
            seq, event_id, f"stored values cannot be read as an event (altered): {error}"
        )
        return None
    return event if verifier.feed(event) is None else None


async def _find_events_beyond_head(fetch: _Fetch, head_seq: int) -> ChainBreak | None:
    """A row past the recorded head that no later head accounts for was not appended by us.

    Appenders commit each event together with the head naming it, and the head only moves
    forward; so re-reading the head after seeing the row tells a concurrent append (the
    head has caught up) from a row added behind Custodian's back (it has not).
    """
    beyond = await fetch(
        select(AuditEventRow.seq, type_coerce(AuditEventRow.id, NullType()).label("id"))
        .where(AuditEventRow.seq > head_seq)
        .order_by(AuditEventRow.seq)
        .limit(1)
    )
    if not beyond:
        return None
    seq = int(beyond[0].seq)
    heads_now = await fetch(_HEAD)
    if heads_now and int(heads_now[0].seq) >= seq:
        return None
    return ChainBreak(
        seq,
        _uuid_or_none(beyond[0].id),
        "event lies beyond the recorded head (appended outside Custodian)",
    )


def decode_event(row: _Row) -> AuditEvent:
    """Rebuild an `AuditEvent` from stored column values, as either driver returns them.

    Raises TypeError or ValueError, naming the column, when a value is not what Custodian
    writes there.
    """
    actor = Actor(
        ActorType(_text(row, "actor_type")),
        _optional_text(row, "actor_id"),
        _optional_text(row, "client_id"),
        _optional_text(row, "actor_role"),
    )
    fields = json.loads(_text(row, "fields"))
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise ValueError("fields is not a JSON list of field names")
    subject = row["subject_id"]
    record = AuditRecord(
        actor=actor,
        action=_text(row, "action"),
        resource_type=_text(row, "resource_type"),
        outcome=Outcome(_text(row, "outcome")),
        subject_id=None if subject is None else _uuid(subject, "subject_id"),
        resource_id=_optional_text(row, "resource_id"),
        fields=tuple(fields),
        purpose=_optional_text(row, "purpose"),
        request_id=_optional_text(row, "request_id"),
    )
    return AuditEvent(
        seq=int(row["seq"]),
        id=_uuid(row["id"], "id"),
        at=_datetime(row["at"]),
        record=record,
        prev_hash=_bytes(row, "prev_hash"),
        hash=_bytes(row, "hash"),
    )


def _text(row: _Row, name: str) -> str:
    value = row[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not text")
    return value


def _optional_text(row: _Row, name: str) -> str | None:
    return None if row[name] is None else _text(row, name)


def _bytes(row: _Row, name: str) -> bytes:
    value = row[name]
    if not isinstance(value, bytes | memoryview | bytearray):
        raise TypeError(f"{name} is not binary")
    return bytes(value)


def _uuid(value: object, name: str) -> UUID:
    # asyncpg returns its own UUID subclass; SQLite stores 32 hex digits as text.
    if isinstance(value, UUID | str):
        try:
            return UUID(str(value))
        except ValueError:
            pass
    raise ValueError(f"{name} is not a UUID")


def _uuid_or_none(value: object) -> UUID | None:
    try:
        return _uuid(value, "id")
    except ValueError:
        return None


def _datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("at is not a timestamp")
