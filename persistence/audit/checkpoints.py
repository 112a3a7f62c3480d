"""Signed audit checkpoints: the `audit_checkpoints` table, making and checking them.

A checkpoint is written in the appending transaction every `every` events (see
`CheckpointWriter`, used by `SqlAuditSink`), or on demand by `custodian audit checkpoint`.
`verify_checkpoints` checks each signature and that the stored chain has the signed hash at
the signed seq; together with `verify_log` (which proves the chain is self-consistent) a
consistent rewrite of the chain up to any checkpoint still stored is detected.
`audit_report` is the one full verification, behind both the officer's API and
`custodian audit verify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, LargeBinary, String, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.audit.checkpoints import (
    AuditReport,
    Checkpoint,
    CheckpointFailure,
    check_claims,
    checkpoint_claims,
)
from domain.audit.events import AuditEvent
from domain.audit.tree_heads import TreeHead
from domain.retention import DataCategory, RetentionClass
from persistence.audit.tables import AuditEventRow, AuditHeadRow, SeqType
from persistence.audit.tree import insert_tree_head
from persistence.audit.tree_verify import verify_tree
from persistence.audit.verify import verify_log
from persistence.base import Base, declare
from persistence.signatures import BadSignature, Ed25519Signer, verify_jws

DEFAULT_CHECKPOINT_EVERY = 1000
"""Events between two automatic checkpoints."""

_INFO = declare(DataCategory.TECHNICAL, RetentionClass.EVIDENCE)


class AuditCheckpointRow(Base):
    """One signed checkpoint; `seq` is both the event's seq and the number of events."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False, info=_INFO)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32), info=_INFO)
    kid: Mapped[str] = mapped_column(String(100), info=_INFO)
    signature: Mapped[str] = mapped_column(Text, info=_INFO)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=_INFO)


_COLUMNS = (
    AuditCheckpointRow.seq,
    AuditCheckpointRow.head_hash,
    AuditCheckpointRow.kid,
    AuditCheckpointRow.signature,
    AuditCheckpointRow.created_at,
)


def _checkpoint(row: Any) -> Checkpoint:
    created: datetime = row.created_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    return Checkpoint(int(row.seq), bytes(row.head_hash), row.kid, row.signature, created)


async def _insert(
    session: AsyncSession, signer: Ed25519Signer, seq: int, head_hash: bytes, at: datetime
) -> Checkpoint:
    signature = signer.sign(checkpoint_claims(seq, head_hash, at))
    await session.execute(
        insert(AuditCheckpointRow).values(
            seq=seq, head_hash=head_hash, kid=signer.kid, signature=signature, created_at=at
        )
    )
    return Checkpoint(seq, head_hash, signer.kid, signature, at)


# When each database (by URL) was last seen checkpointed by this process: lets the
# time-based trigger skip the lookup on almost every append. Process-local and advisory only:
# the database is asked before a time-based checkpoint is written.
_LAST_CHECKPOINT_AT: dict[str, datetime] = {}


class CheckpointWriter:
    """Signs a checkpoint in the appending transaction (so it commits, or rolls back, with
    the event it names) when the event's seq is a multiple of `every`, or, with `max_age`,
    when the newest checkpoint is older than that; and a Merkle tree head at least every
    `every` events."""

    def __init__(
        self,
        session: AsyncSession,
        signer: Ed25519Signer,
        every: int = DEFAULT_CHECKPOINT_EVERY,
        max_age: timedelta | None = None,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self._session, self._signer, self._every = session, signer, every
        self._max_age = max_age

    async def after_append(self, event: AuditEvent) -> None:
        """Called by the sink, still holding the chain lock, after each appended event."""
        database = str(self._session.get_bind().engine.url)
        if event.seq % self._every == 0:
            await _insert(self._session, self._signer, event.seq, event.hash, event.at)
            _LAST_CHECKPOINT_AT[database] = event.at
            return
        if self._max_age is None:
            return
        seen = _LAST_CHECKPOINT_AT.get(database)
        if seen is not None and timedelta(0) <= event.at - seen < self._max_age:
            return  # (a clock that went back, or a database reset, asks the database)
        latest = await latest_checkpoint(self._session)
        if latest is not None and event.at - latest.created_at < self._max_age:
            _LAST_CHECKPOINT_AT[database] = latest.created_at
            return
        await _insert(self._session, self._signer, event.seq, event.hash, event.at)
        _LAST_CHECKPOINT_AT[database] = event.at

    async def after_tree_append(self, appended: int, tree_size: int, root: bytes) -> None:
        """Called by the sink once per batch: signs a tree head whenever the batch crossed a
        multiple of `every` events (so at least one head per `every` events)."""
        if tree_size // self._every > (tree_size - appended) // self._every:
            await insert_tree_head(self._session, self._signer, tree_size, root, datetime.now(UTC))


async def checkpoint_now(
    session: AsyncSession, signer: Ed25519Signer, now: datetime
) -> Checkpoint | None:
    """Sign the current head unless it is already checkpointed; the caller commits.

    Reading the head with FOR UPDATE (a no-op on SQLite, whose transactions already hold
    the write lock) keeps appenders from moving it while it is signed. None for an empty log.
    """
    head = (
        await session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash).with_for_update())
    ).one()
    seq, head_hash = int(head.seq), bytes(head.hash)
    if seq == 0:
        return None
    existing = (
        await session.execute(select(*_COLUMNS).where(AuditCheckpointRow.seq == seq))
    ).first()
    if existing is not None:
        return _checkpoint(existing)
    return await _insert(session, signer, seq, head_hash, now)


async def latest_checkpoint(source: AsyncSession | AsyncConnection) -> Checkpoint | None:
    """The newest stored checkpoint, or None."""
    row = (
        await source.execute(select(*_COLUMNS).order_by(AuditCheckpointRow.seq.desc()).limit(1))
    ).first()
    return None if row is None else _checkpoint(row)


async def verify_checkpoints(
    source: AsyncEngine | AsyncSession,
    jwk: dict[str, str],
) -> tuple[int, CheckpointFailure | None, Checkpoint | None]:
    """Check every checkpoint: (how many verified, the first failure, the latest one).

    A checkpoint fails when its signature does not verify with `jwk`, when the signed
    document differs from the stored row, or when the stored event at its seq does not
    have the signed hash (the chain was rewritten or truncated after it was signed).
    """
    if isinstance(source, AsyncEngine):
        async with source.connect() as connection:
            return await _verify_all(connection, jwk)
    return await _verify_all(source, jwk)


async def _verify_all(
    source: AsyncSession | AsyncConnection,
    jwk: dict[str, str],
) -> tuple[int, CheckpointFailure | None, Checkpoint | None]:
    rows: Sequence[Any] = (
        await source.execute(select(*_COLUMNS).order_by(AuditCheckpointRow.seq))
    ).all()
    checked, latest = 0, None
    for row in rows:
        checkpoint = _checkpoint(row)
        latest = checkpoint
        failure = await _verify_one(source, checkpoint, jwk)
        if failure is not None:
            return checked, failure, latest
        checked += 1
    return checked, None, latest


async def _verify_one(
    source: AsyncSession | AsyncConnection, checkpoint: Checkpoint, jwk: dict[str, str]
) -> CheckpointFailure | None:
    try:
        claims = verify_jws(checkpoint.signature, jwk)
    except BadSignature:
        return CheckpointFailure(checkpoint.seq, "checkpoint signature does not verify")
    mismatch = check_claims(checkpoint, claims)
    if mismatch is not None:
        return CheckpointFailure(checkpoint.seq, mismatch)
    stored = (
        await source.execute(select(AuditEventRow.hash).where(AuditEventRow.seq == checkpoint.seq))
    ).first()
    if stored is None:
        return CheckpointFailure(checkpoint.seq, "the checkpointed event is missing")
    if bytes(stored[0]) != checkpoint.head_hash:
        return CheckpointFailure(
            checkpoint.seq,
            "the chain at this checkpoint differs from the signed head "
            "(events up to it were rewritten)",
        )
    return None


def stale_after_for(tree_head_interval: float) -> timedelta:
    """How long events may stay uncovered by a signed tree head before the verification
    counts them as heads deleted: heads are signed at least every `tree_head_interval`
    seconds while events arrive, so twice that plus a minute leaves room for a late tick."""
    return timedelta(seconds=2 * tree_head_interval + 60)


async def audit_report(
    source: AsyncEngine | AsyncSession,
    jwk: dict[str, str],
    *,
    witnessed: Sequence[TreeHead] = (),
    stale_after: timedelta | None = None,
) -> AuditReport:
    """Walk the chain and the Merkle tree against every signed tree head and every
    `witnessed` one (`verify_tree`, given an engine), then every checkpoint against the
    chain. With `stale_after`, events that old which no signed tree head covers count as a
    break (heads were deleted)."""
    tree_failure, tree_checked, witnessed_checked = None, 0, 0
    if isinstance(source, AsyncEngine):
        tree = await verify_tree(source, jwk, witnessed=witnessed, stale_after=stale_after)
        chain = tree.chain
        tree_checked, witnessed_checked = tree.tree_heads_checked, tree.witnessed_checked
        if tree.tree_failure is not None:
            tree_failure = CheckpointFailure(tree.tree_failure.seq, tree.tree_failure.reason)
    else:
        chain = await verify_log(source)
    checked, failure, latest = await verify_checkpoints(source, jwk)
    broken = chain.failure
    return AuditReport(
        events_checked=chain.events_checked,
        head_seq=chain.head_seq,
        head_hash=chain.head_hash,
        chain_failure_seq=broken.seq if broken else None,
        chain_failure_event_id=str(broken.event_id) if broken and broken.event_id else None,
        chain_failure_reason=broken.reason if broken else None,
        checkpoints_checked=checked,
        checkpoint_failure=failure,
        latest_checkpoint=latest,
        tree_heads_checked=tree_checked,
        tree_failure=tree_failure,
        witnessed_checked=witnessed_checked,
    )


class SqlAuditVerifier:
    """`domain.audit.checkpoints.AuditVerifier` for a unit of work.

    Reads through the session's engine, each batch in its own short transaction, rather
    than in the unit of work's transaction: a long walk must not hold SQLite's write lock.
    """

    def __init__(
        self,
        session: AsyncSession,
        signer: Ed25519Signer,
        tree_head_interval: float | None = None,
    ) -> None:
        self._session, self._signer = session, signer
        self._stale_after = (
            None if tree_head_interval is None else stale_after_for(tree_head_interval)
        )

    async def verify(self) -> AuditReport:
        """The full report (see `audit_report`)."""
        bind = self._session.bind
        source: AsyncEngine | AsyncSession = (
            bind if isinstance(bind, AsyncEngine) else self._session
        )
        return await audit_report(source, self._signer.jwk(), stale_after=self._stale_after)
