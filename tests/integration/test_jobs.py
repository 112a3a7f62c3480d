"""The durable job queue on real SQLite and PostgreSQL: one lease per job, heartbeats,
lease expiry, retry with backoff, and a final failure after max_attempts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.database import session_factory
from persistence.dsr.tables import JobRow
from persistence.jobs import (
    DONE,
    FAILED,
    QUEUED,
    JobQueue,
    LeasedJob,
    LeaseLost,
    Progress,
    Worker,
    backoff,
    new_job,
)


async def enqueue(engine: AsyncEngine, kind: str, *, max_attempts: int = 3) -> JobRow:
    job = new_job(kind, None, datetime.now(UTC), max_attempts=max_attempts)
    async with session_factory(engine)() as session:
        session.add(job)
        await session.commit()
    return job


async def row(engine: AsyncEngine, job: JobRow) -> JobRow:
    async with session_factory(engine)() as session:
        found = await session.scalar(select(JobRow).where(JobRow.id == job.id))
        assert found is not None
        return found


async def test_concurrent_workers_lease_a_job_once(engine: AsyncEngine) -> None:
    await enqueue(engine, "noop")
    queues = [JobQueue(session_factory(engine), f"w{i}") for i in range(4)]
    leased = await asyncio.gather(*(q.lease_next() for q in queues))
    assert len([job for job in leased if job is not None]) == 1


async def test_an_expired_lease_is_taken_over_and_the_old_owner_stops(engine: AsyncEngine) -> None:
    job = await enqueue(engine, "noop")
    first = JobQueue(session_factory(engine), "first", lease_seconds=30)
    second = JobQueue(session_factory(engine), "second", lease_seconds=30)
    held = await first.lease_next()
    assert held is not None
    await first.heartbeat(held, 40)
    assert (await row(engine, job)).progress == 40
    assert await second.lease_next() is None  # the lease is alive
    async with session_factory(engine)() as session:  # the first worker died long ago
        await session.execute(
            update(JobRow).values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    taken = await second.lease_next()
    assert taken is not None
    assert taken.attempts == 2
    with pytest.raises(LeaseLost):
        await first.heartbeat(held, 50)


async def test_failures_are_retried_with_backoff_then_fail_for_good(engine: AsyncEngine) -> None:
    job = await enqueue(engine, "flaky", max_attempts=2)
    calls: list[int] = []
    gave_up: list[LeasedJob] = []

    async def flaky(leased: LeasedJob, progress: Progress) -> None:
        calls.append(leased.attempts)
        await progress(10)
        raise RuntimeError("boom")

    async def final(leased: LeasedJob) -> None:
        gave_up.append(leased)

    worker = Worker(
        JobQueue(session_factory(engine), "w"), {"flaky": flaky}, on_final_failure=final
    )
    assert await worker.run_once()
    stored = await row(engine, job)
    assert (stored.status, stored.attempts, stored.last_error) == (QUEUED, 1, "RuntimeError")
    assert not await worker.run_once()  # backing off: not due yet
    async with session_factory(engine)() as session:
        await session.execute(update(JobRow).values(run_after=datetime.now(UTC)))
        await session.commit()
    assert await worker.run_once()
    assert (await row(engine, job)).status == FAILED
    assert calls == [1, 2]
    assert [j.id for j in gave_up] == [job.id]
    assert backoff(1) < backoff(2) < backoff(3)


async def test_a_successful_job_is_done_at_100(engine: AsyncEngine) -> None:
    job = await enqueue(engine, "ok")

    async def ok(_leased: LeasedJob, progress: Progress) -> None:
        await progress(50)

    worker = Worker(JobQueue(session_factory(engine), "w"), {"ok": ok})
    assert await worker.run_once()
    stored = await row(engine, job)
    assert (stored.status, stored.progress, stored.lease_owner) == (DONE, 100, None)
    stop = asyncio.Event()
    stop.set()
    await worker.run(stop)  # returns at once when asked to stop
