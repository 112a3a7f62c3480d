"""Wiring of the background worker: which handler runs which job kind, and the sweeps."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.crypto import MasterKey
from persistence.database import read_only, session_factory
from persistence.dsr.erasure import ErasureJob
from persistence.dsr.exports import ExportJob, expire_exports, mark_failed
from persistence.jobs import DEFAULT_LEASE_SECONDS, Handler, JobQueue, LeasedJob, Worker, worker_id
from persistence.uow import SqlUnitOfWork


def build_worker(
    engine: AsyncEngine,
    master_key: MasterKey,
    data_dir: Path,
    *,
    export_ttl: timedelta,
    financial_years: int = 7,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    poll_seconds: float = 1.0,
) -> Worker:
    """A worker running export jobs and, when idle, the export-expiry sweep."""
    sessions = session_factory(engine)
    # The export reads for a long time: on SQLite a read-only transaction takes no write
    # lock, so the API (and the job's own heartbeats) keep writing meanwhile.
    reading = session_factory(read_only(engine))

    def new_unit() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, master_key, data_dir=data_dir)

    def read_unit() -> SqlUnitOfWork:
        return SqlUnitOfWork(reading, master_key, data_dir=data_dir)

    async def on_final_failure(job: LeasedJob) -> None:
        await mark_failed(sessions, data_dir, job)

    queue = JobQueue(sessions, worker_id(), lease_seconds=lease_seconds)
    handlers: dict[str, Handler] = {
        "export": ExportJob(sessions, new_unit, read_unit, data_dir, ttl=export_ttl),
        "erasure": ErasureJob(sessions, new_unit, financial_years=financial_years),
    }
    return Worker(
        queue,
        handlers,
        on_final_failure=on_final_failure,
        idle_tasks=[functools.partial(_sweep, sessions, data_dir)],
        poll_seconds=poll_seconds,
    )


async def _sweep(sessions: async_sessionmaker[AsyncSession], data_dir: Path) -> None:
    await expire_exports(sessions, data_dir)
