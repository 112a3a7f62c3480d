"""domain.dsr.requests.DsrRepository on SQL: requests, and their job queued alongside."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import and_, not_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.profile import CustomerStatus
from domain.dsr.requests import (
    IN_PROGRESS,
    DataSubjectRequest,
    RequestFilter,
    RequestStatus,
    RequestType,
    TimelineEntry,
)
from persistence.audit.tables import AuditEventRow
from persistence.customer.tables import CustomerRow
from persistence.dsr.export_reader import transaction_records as export_transaction_records
from persistence.dsr.sealed_archive import delete_customer_archives, open_sealed
from persistence.dsr.tables import DsrRequestRow, JobRow
from persistence.jobs import DONE as JOB_DONE
from persistence.jobs import QUEUED as JOB_QUEUED
from persistence.jobs import new_job
from persistence.sealing import utc_in, utc_out, utc_out_optional


def export_dir(data_dir: Path) -> Path:
    """Where export archives are written (one file per export request)."""
    return data_dir / "exports"


def archive_file(data_dir: Path, request_id: UUID) -> Path:
    """The archive of one export request."""
    return export_dir(data_dir) / f"{request_id}.zip"


def active_key(customer_id: UUID, request_type: RequestType) -> str:
    """The unique marker of "a request of this type is in progress for this customer"."""
    return f"{request_type.value}:{customer_id}"


def to_request(row: DsrRequestRow) -> DataSubjectRequest:
    """The domain request for a row."""
    return DataSubjectRequest(
        id=row.id,
        customer_id=row.customer_id,
        type=RequestType(row.type),
        status=RequestStatus(row.status),
        requested_by=row.requested_by,
        requested_by_id=row.requested_by_id,
        received_at=utc_out(row.received_at),
        due_at=utc_out(row.due_at),
        progress=row.progress,
        archive_size=row.archive_size,
        archive_sha256=row.archive_sha256,
        expires_at=utc_out_optional(row.expires_at),
        completed_at=utc_out_optional(row.completed_at),
        extended_at=utc_out_optional(row.extended_at),
        extension_reason=row.extension_reason,
        report=None if row.result is None else json.loads(row.result),
        erase_after=utc_out_optional(row.erase_after),
        held_status=CustomerStatus(row.held_status) if row.held_status else None,
    )


class SqlDsrRepository:
    """Data-subject requests in `dsr_requests`; never commits."""

    def __init__(self, session: AsyncSession, data_dir: Path) -> None:
        self._session = session
        self._data_dir = data_dir

    async def add_with_job(
        self, request: DataSubjectRequest, *, job_kind: str, single_active: bool
    ) -> bool:
        """Store the request and its queued job (run from `erase_after` when set, else at
        once); False when another is already active."""
        job = new_job(job_kind, request.id, utc_in(request.erase_after or request.received_at))
        row = DsrRequestRow(
            id=request.id,
            customer_id=request.customer_id,
            type=request.type.value,
            status=request.status.value,
            requested_by=request.requested_by,
            requested_by_id=request.requested_by_id,
            received_at=utc_in(request.received_at),
            due_at=utc_in(request.due_at),
            progress=0,
            erase_after=utc_in(request.erase_after) if request.erase_after else None,
            held_status=request.held_status.value if request.held_status else None,
            job_id=job.id,
            active_key=active_key(request.customer_id, request.type) if single_active else None,
        )
        try:
            async with self._session.begin_nested():
                self._session.add(row)
                self._session.add(job)
                await self._session.flush()
        except IntegrityError:
            return False
        return True

    async def active(
        self,
        customer_id: UUID,
        request_type: RequestType,
    ) -> DataSubjectRequest | None:
        """The queued or running request of this type, if any."""
        row = await self._session.scalar(
            select(DsrRequestRow).where(
                DsrRequestRow.customer_id == customer_id,
                DsrRequestRow.type == request_type.value,
                DsrRequestRow.status.in_([s.value for s in IN_PROGRESS]),
            )
        )
        return None if row is None else to_request(row)

    async def get(
        self,
        request_id: UUID,
        customer_id: UUID | None = None,
    ) -> DataSubjectRequest | None:
        """The request, if it exists (and is `customer_id`'s, when given)."""
        query = select(DsrRequestRow).where(DsrRequestRow.id == request_id)
        if customer_id is not None:
            query = query.where(DsrRequestRow.customer_id == customer_id)
        row = await self._session.scalar(query)
        return None if row is None else to_request(row)

    @property
    def data_dir(self) -> Path:
        """The data directory the archives live under."""
        return self._data_dir

    def archive_path(self, request: DataSubjectRequest) -> str:
        """The archive file of an export request."""
        return str(archive_file(self._data_dir, request.id))

    def read_archive(
        self, request: DataSubjectRequest, customer_key: bytes
    ) -> AsyncIterator[bytes]:
        """The archive decrypted chunk by chunk (opened when iteration starts)."""
        return open_sealed(archive_file(self._data_dir, request.id), customer_key, request.id)

    def transaction_records(
        self, customer_id: UUID, account_id: UUID, data_key: bytes
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """domain.dsr.ports.ExportRequests: the account's transactions as archive records,
        streamed (persistence.dsr.export_reader)."""
        return export_transaction_records(self._session, customer_id, account_id, data_key)

    async def search(
        self,
        filters: RequestFilter,
        now: datetime,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[DataSubjectRequest]:
        """Requests matching `filters`, newest received first (keyset on (received_at, id))."""
        query = select(DsrRequestRow)
        if filters.type is not None:
            query = query.where(DsrRequestRow.type == filters.type.value)
        if filters.status is not None:
            query = query.where(DsrRequestRow.status == filters.status.value)
        if filters.customer_id is not None:
            query = query.where(DsrRequestRow.customer_id == filters.customer_id)
        if filters.overdue is not None:
            overdue = and_(
                DsrRequestRow.status.in_([s.value for s in IN_PROGRESS]),
                DsrRequestRow.due_at < utc_in(now),
            )
            query = query.where(overdue if filters.overdue else not_(overdue))
        if before is not None:
            query = query.where(
                tuple_(DsrRequestRow.received_at, DsrRequestRow.id)
                < tuple_(utc_in(before[0]), before[1])
            )
        rows = (
            await self._session.scalars(
                query.order_by(DsrRequestRow.received_at.desc(), DsrRequestRow.id.desc()).limit(
                    limit
                )
            )
        ).all()
        return [to_request(row) for row in rows]

    async def timeline(self, request_id: UUID) -> list[TimelineEntry]:
        """The audit events naming the request, oldest first."""
        rows = (
            await self._session.execute(
                select(
                    AuditEventRow.at,
                    AuditEventRow.action,
                    AuditEventRow.actor_type,
                    AuditEventRow.actor_id,
                    AuditEventRow.outcome,
                )
                .where(AuditEventRow.resource_id == str(request_id))
                .order_by(AuditEventRow.seq)
            )
        ).all()
        return [
            TimelineEntry(
                at=utc_out(at),
                action=action,
                actor_type=actor_type,
                actor_id=None if actor_type == "customer" else actor_id,
                outcome=outcome,
            )
            for at, action, actor_type, actor_id, outcome in rows
        ]

    async def extend(
        self, request_id: UUID, *, due_at: datetime, at: datetime, reason: str
    ) -> bool:
        """Set the extended due date, once (a conditional update: safe under concurrency)."""
        result = await self._session.execute(
            update(DsrRequestRow)
            .where(DsrRequestRow.id == request_id, DsrRequestRow.extended_at.is_(None))
            .values(due_at=utc_in(due_at), extended_at=utc_in(at), extension_reason=reason)
        )
        return bool(getattr(result, "rowcount", 0))

    async def add_completed(self, request: DataSubjectRequest) -> None:
        """Store a request fulfilled at once, with its (value-free) report."""
        self._session.add(
            DsrRequestRow(
                id=request.id,
                customer_id=request.customer_id,
                type=request.type.value,
                status=request.status.value,
                requested_by=request.requested_by,
                requested_by_id=request.requested_by_id,
                received_at=utc_in(request.received_at),
                due_at=utc_in(request.due_at),
                progress=request.progress,
                job_id=None,
                active_key=None,
                completed_at=utc_in(request.completed_at or request.received_at),
                result=None
                if request.report is None
                else json.dumps(request.report, sort_keys=True),
            )
        )
        await self._session.flush()

    async def set_customer_status(self, customer_id: UUID, status: CustomerStatus) -> None:
        """Set the customer's status; an erased customer stays erased."""
        await self._session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id, CustomerRow.status != CustomerStatus.ERASED.value)
            .values(status=status.value)
        )

    async def cancel_pending(self, request_id: UUID, at: datetime) -> bool:
        """Cancel a queued request whose job has not started: one conditional update of
        the job wins against a worker leasing it at the same moment."""
        row = await self._session.get(DsrRequestRow, request_id)
        if row is None or row.status != RequestStatus.QUEUED.value or row.job_id is None:
            return False
        stopped = await self._session.execute(
            update(JobRow)
            .where(JobRow.id == row.job_id, JobRow.status == JOB_QUEUED)
            .values(status=JOB_DONE, updated_at=utc_in(at))
        )
        if getattr(stopped, "rowcount", 0) != 1:
            return False
        row.status = RequestStatus.CANCELLED.value
        row.active_key = None  # a new request may be made later
        row.completed_at = utc_in(at)
        await self._session.flush()
        return True

    async def finish_export(
        self, request_id: UUID, *, size: int, sha256: str, at: datetime, expires_at: datetime
    ) -> None:
        """Mark the export ready: size and digest of the archive, and when it expires."""
        await self._session.execute(
            update(DsrRequestRow)
            .where(DsrRequestRow.id == request_id)
            .values(
                status=RequestStatus.READY.value,
                progress=100,
                archive_size=size,
                archive_sha256=sha256,
                completed_at=utc_in(at),
                expires_at=utc_in(expires_at),
                active_key=None,
            )
        )

    async def complete(self, request_id: UUID, *, report: dict[str, Any], at: datetime) -> None:
        """Mark the request completed, with its report."""
        await self._session.execute(
            update(DsrRequestRow)
            .where(DsrRequestRow.id == request_id)
            .values(
                status=RequestStatus.COMPLETED.value,
                progress=100,
                completed_at=utc_in(at),
                result=json.dumps(report, sort_keys=True),
                active_key=None,
            )
        )

    async def expired_exports(self, now: datetime) -> list[UUID]:
        """Ready exports whose archive expired at or before `now`."""
        found = await self._session.scalars(
            select(DsrRequestRow.id).where(
                DsrRequestRow.status == RequestStatus.READY.value,
                DsrRequestRow.expires_at <= utc_in(now),
            )
        )
        return list(found)

    async def mark_expired(self, request_ids: Sequence[UUID]) -> None:
        """Record that these exports' archives are gone."""
        if request_ids:
            await self._session.execute(
                update(DsrRequestRow)
                .where(DsrRequestRow.id.in_(request_ids))
                .values(status=RequestStatus.EXPIRED.value)
            )

    async def delete_customer_archives(self, customer_id: UUID) -> int:
        """Delete the customer's archive files and mark the ready exports expired."""
        return await delete_customer_archives(self._session, self._data_dir, customer_id)

    async def fail(self, request_id: UUID) -> None:
        """Mark the request failed (its job gave up); another may be asked for."""
        await self._session.execute(
            update(DsrRequestRow)
            .where(DsrRequestRow.id == request_id)
            .values(status=RequestStatus.FAILED.value, active_key=None)
        )
