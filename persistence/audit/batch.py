"""Group commit for audit events that belong to no data change (reads, denials).

Every such event used to take the chain lock (the `audit_head` row) in its own transaction
and hold it through commit, so concurrent requests queued behind one commit (and fsync)
each. `BatchingAuditLog` (`domain.ports.DurableAuditLog`) lets them share it: callers queue
their record and wait; one flusher task at a time takes everything queued, appends it in ONE
transaction (one lock, consecutive seqs, one commit) and then answers every caller. A caller
therefore still returns only once its event is committed, and a failed batch fails every
caller in it.

A batch first tries `OneTripAppender` (one statement on PostgreSQL, one hop to the
connection's thread on SQLite, when the head is still where this process left it) and takes
the lock as above only when that fails.

Events that go with a data change are still appended by `SqlAuditSink` in that change's own
transaction (the unit of work's `audit`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.audit.events import AuditEvent, AuditRecord
from domain.clock import Clock
from persistence.audit.checkpoints import DEFAULT_CHECKPOINT_EVERY, CheckpointWriter
from persistence.audit.one_trip import OneTripAppender
from persistence.audit.sink import SqlAuditSink, check_record_lengths
from persistence.audit.timing import AUDIT_APPEND_SECONDS
from persistence.signatures import Ed25519Signer

MAX_BATCH = 500
"""Events per transaction at most: bounds one transaction's size and the latency it adds."""

_Waiter = tuple[AuditRecord, "asyncio.Future[AuditEvent]"]


class BatchingAuditLog:
    """`domain.ports.DurableAuditLog` with group commit, one per process and database.

    Needs no start: the flusher task exists only while records are waiting, on the event
    loop of the callers. `aclose` waits for a running flush (call it before disposing the
    engine).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        signer: Ed25519Signer,
        *,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        checkpoint_max_age: timedelta | None = None,
        max_batch: int = MAX_BATCH,
        one_trip: bool = True,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self._checkpoint_max_age = checkpoint_max_age
        self._max_batch = max_batch
        self._pending: list[_Waiter] = []
        self._flusher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0
        """Batches committed so far (for tests and benchmarks)."""
        bind = sessions.kw.get("bind")
        self.one_trip = (
            OneTripAppender(bind, clock, checkpoint_every=checkpoint_every)
            if one_trip
            and checkpoint_max_age is None
            and isinstance(bind, AsyncEngine)
            and bind.dialect.name in ("postgresql", "sqlite")
            else None
        )
        """The one-trip path (None when switched off, or with a maximum checkpoint age)."""

    async def record(self, record: AuditRecord) -> AuditEvent:
        """Chain `record` onto the log; returns once the transaction holding it committed.

        ValueError at once for an over-long value (nothing queued). When the batch's
        transaction fails, every caller in it gets the error and none of its events is stored.
        """
        check_record_lengths(record)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (tests run one per test): waiters and a flusher of the old
            # loop cannot be served from this one.
            self._loop, self._pending, self._flusher = loop, [], None
        future: asyncio.Future[AuditEvent] = loop.create_future()
        self._pending.append((record, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_all(), name="audit-group-commit")
        # Shielded: a caller that goes away (client disconnect) must not cancel the flusher's
        # future for the others; its event is still appended.
        with AUDIT_APPEND_SECONDS.labels("read").time():
            return await asyncio.shield(future)

    async def aclose(self) -> None:
        """Wait until everything queued is committed (or failed)."""
        flusher = self._flusher
        if flusher is not None and not flusher.done() and self._loop is asyncio.get_running_loop():
            await asyncio.shield(flusher)

    async def _flush_all(self) -> None:
        # Runs until nothing is waiting; records queued during a commit form the next batch.
        while self._pending:
            batch, self._pending = (
                self._pending[: self._max_batch],
                self._pending[self._max_batch :],
            )
            await self._flush(batch)

    async def _flush(self, batch: list[_Waiter]) -> None:
        try:
            events = await self._append([record for record, _ in batch])
        except BaseException as error:
            # Every caller learns the batch failed: none of them may claim a stored event.
            failure = (
                error
                if isinstance(error, Exception)
                else RuntimeError("the audit flush was interrupted")
            )
            _settle(batch, lambda future: future.set_exception(failure))
            if not isinstance(error, Exception):
                # Cancelled (the loop is shutting down): nobody will flush the rest either.
                waiting, self._pending = self._pending, []
                _settle(waiting, lambda future: future.set_exception(failure))
                raise
            return
        self.batches += 1
        for (_, future), event in zip(batch, events, strict=True):
            if not future.done():
                future.set_result(event)

    async def _append(self, records: list[AuditRecord]) -> list[AuditEvent]:
        if self.one_trip is not None:
            stored = await self.one_trip.try_append(records)
            if stored is not None:
                return stored
            self.one_trip.forget_head()
        async with self._sessions() as session:
            checkpoints = CheckpointWriter(
                session, self._signer, self._checkpoint_every, self._checkpoint_max_age
            )
            events = await SqlAuditSink(session, self._clock, checkpoints).append_many(records)
            await session.commit()
        return events


def _settle(batch: list[_Waiter], settle: Callable[[asyncio.Future[AuditEvent]], None]) -> None:
    for _, future in batch:
        if not future.done():
            settle(future)
