"""The durable job queue and the worker loop that leases jobs from it.

A job is a row in `jobs`. A worker leases one (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
workers never wait on each other; SQLite: the conditional UPDATE below serialises them),
heartbeats while it works (extending the lease and storing progress 0-100), and marks it
done. A worker that dies (kill -9) stops heartbeating: once its lease expires, another worker
(or the same one restarted) leases the job again and redoes it from the start. Handlers are
therefore written to be idempotent: the same job run twice gives the same single result.
Failures are retried with exponential backoff up to `max_attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import Clock, SystemClock
from persistence.dsr.tables import DsrRequestRow, JobRow
from persistence.sealing import utc_out

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0


def new_job(
    kind: str,
    request_id: UUID | None,
    at: datetime,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> JobRow:
    """A queued job row (added to a session by the caller, in the caller's transaction)."""
    return JobRow(
        id=uuid.uuid4(),
        kind=kind,
        request_id=request_id,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=at,
        lease_owner=None,
        lease_expires_at=None,
        progress=0,
        last_error=None,
        created_at=at,
        updated_at=at,
    )


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next attempt after `attempts` failed ones."""
    return timedelta(
        seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    )


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired): stop working on it."""


@dataclass(frozen=True, slots=True)
class LeasedJob:
    """A job this worker holds the lease on."""

    id: UUID
    kind: str
    request_id: UUID | None
    attempts: int


class JobQueue:
    """Lease, heartbeat, complete and fail jobs; each call is its own short transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        owner: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self._clock: Clock = clock or SystemClock()

    async def lease_next(self) -> LeasedJob | None:
        """Lease the oldest runnable job (queued and due, or running with an expired lease)."""
        now = self._clock.now()
        runnable = or_(
            and_(JobRow.status == QUEUED, JobRow.run_after <= now),
            and_(JobRow.status == RUNNING, JobRow.lease_expires_at < now),
        )
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                select(JobRow)
                .where(runnable)
                .order_by(JobRow.run_after, JobRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return None
            # Conditional: on SQLite (no row locks) a second worker's UPDATE finds nothing.
            result = await session.execute(
                update(JobRow)
                .where(JobRow.id == row.id, runnable)
                .values(
                    status=RUNNING,
                    lease_owner=self.owner,
                    lease_expires_at=now + self.lease,
                    attempts=JobRow.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            return LeasedJob(row.id, row.kind, row.request_id, row.attempts + 1)

    async def heartbeat(self, job: LeasedJob, progress: int | None = None) -> None:
        """Extend the lease (and store progress, also on the job's request).

        Raises LeaseLost when another worker has taken the job over."""
        now = self._clock.now()
        values: dict[str, object] = {"lease_expires_at": now + self.lease, "updated_at": now}
        if progress is not None:
            values["progress"] = max(0, min(100, progress))
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(JobRow)
                .where(
                    JobRow.id == job.id, JobRow.lease_owner == self.owner, JobRow.status == RUNNING
                )
                .values(**values)
            )
            if getattr(result, "rowcount", 0) != 1:
                raise LeaseLost(str(job.id))
            if progress is not None and job.request_id is not None:
                await session.execute(
                    update(DsrRequestRow)
                    .where(DsrRequestRow.id == job.request_id)
                    .values(progress=values["progress"], status=RUNNING)
                )

    async def complete(self, job: LeasedJob) -> None:
        """Mark the job done."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(JobRow)
                .where(JobRow.id == job.id, JobRow.lease_owner == self.owner)
                .values(
                    status=DONE,
                    progress=100,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=self._clock.now(),
                )
            )

    async def fail(self, job: LeasedJob, error: BaseException) -> bool:
        """Record a failed attempt: queued again after a backoff, or failed for good once
        `max_attempts` is reached (returns True then)."""
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            row = await session.get(JobRow, job.id)
            if row is None or row.lease_owner != self.owner:
                return False
            final = row.attempts >= row.max_attempts
            row.status = FAILED if final else QUEUED
            row.run_after = now + backoff(row.attempts)
            row.lease_owner, row.lease_expires_at = None, None
            row.last_error = type(error).__name__[:200]
            row.updated_at = now
            return final

    async def status_of(self, job_id: UUID) -> tuple[str, int, datetime]:
        """(status, progress, updated_at) of a job: for tests and the officer."""
        async with self._sessions() as session:
            row = await session.get(JobRow, job_id)
            if row is None:
                raise LookupError(str(job_id))
            return row.status, row.progress, utc_out(row.updated_at)


Progress = Callable[[int], Awaitable[None]]
Handler = Callable[[LeasedJob, Progress], Awaitable[None]]
FinalFailure = Callable[[LeasedJob], Awaitable[None]]


async def _unknown_kind(job: LeasedJob, _progress: Progress) -> None:
    raise LookupError(f"no handler for job kind {job.kind}")


def worker_id() -> str:
    """host:pid:random, unique per worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs one at a time until `stop` is set."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        on_final_failure: FinalFailure | None = None,
        idle_tasks: Sequence[Callable[[], Awaitable[None]]] = (),
        poll_seconds: float = 1.0,
        idle_every_seconds: float = 60.0,
    ) -> None:
        self.queue = queue
        self.handlers = dict(handlers)
        self._on_final_failure = on_final_failure
        self._idle_tasks = tuple(idle_tasks)
        self._poll = poll_seconds
        self._idle_every = idle_every_seconds
        self._last_idle: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Lease and run jobs until `stop`; sleeps `poll_seconds` when there is nothing."""
        while not stop.is_set():
            try:
                ran = await self.run_once()
                if not ran:
                    await self._idle()
            except Exception as error:  # noqa: BLE001  (the database may be away for a while)
                # The worker outlives outages (and an unmigrated database): it tries again.
                structlog.stdlib.get_logger("custodian.jobs").warning(
                    "worker poll failed", error_type=type(error).__name__
                )
                ran = False
            if not ran:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll)

    async def run_once(self) -> bool:
        """Lease and run one job; False when none was runnable."""
        job = await self.queue.lease_next()
        if job is None:
            return False
        handler = self.handlers.get(job.kind, _unknown_kind)
        log = structlog.stdlib.get_logger("custodian.jobs")
        beat = asyncio.create_task(self._keep_alive(job))
        try:

            async def progress(percent: int) -> None:
                await self.queue.heartbeat(job, percent)

            await handler(job, progress)
        except LeaseLost:
            log.warning("job lease lost", job_id=str(job.id), kind=job.kind)
            return True
        except Exception as error:  # noqa: BLE001  (a failing job must not stop the worker)
            log.warning(
                "job failed",
                job_id=str(job.id),
                kind=job.kind,
                error_type=type(error).__name__,
                attempt=job.attempts,
            )
            if await self.queue.fail(job, error) and self._on_final_failure is not None:
                await self._on_final_failure(job)
            return True
        finally:
            beat.cancel()
        await self.queue.complete(job)
        log.info("job done", job_id=str(job.id), kind=job.kind)
        return True

    async def _keep_alive(self, job: LeasedJob) -> None:
        # A long step between progress reports must not let the lease lapse.
        interval = max(0.5, self.queue.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.queue.heartbeat(job)
            except LeaseLost:
                return

    async def _idle(self) -> None:
        loop = asyncio.get_running_loop()
        if self._last_idle is not None and loop.time() - self._last_idle < self._idle_every:
            return
        self._last_idle = loop.time()
        for task in self._idle_tasks:
            await task()
