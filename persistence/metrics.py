"""The operational figures `/metrics` reads from the database at scrape time.

Job queue depth and age and the newest checkpoint's age are read when scraped, so every
process reports the shared queue and log, not its own view of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.audit.checkpoints import AuditCheckpointRow
from persistence.dsr.tables import JobRow
from persistence.sealing import utc_out

_QUEUED = "queued"


@dataclass(frozen=True, slots=True)
class OperationalFigures:
    """What the database says right now about background work and the audit log."""

    queued_jobs: int
    oldest_queued_job_at: datetime | None
    newest_checkpoint_at: datetime | None


class OperationalProbe:
    """Reads `OperationalFigures` with two small aggregate queries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def figures(self) -> OperationalFigures:
        """Queued jobs (count, oldest creation time) and the newest signed checkpoint's time."""
        async with self._engine.connect() as connection:
            depth, oldest = (
                await connection.execute(
                    select(func.count(), func.min(JobRow.created_at)).where(
                        JobRow.status == _QUEUED
                    )
                )
            ).one()
            newest = await connection.scalar(select(func.max(AuditCheckpointRow.created_at)))
        return OperationalFigures(
            queued_jobs=int(depth),
            oldest_queued_job_at=utc_out(oldest) if oldest is not None else None,
            newest_checkpoint_at=utc_out(newest) if newest is not None else None,
        )
