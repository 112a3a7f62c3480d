"""The DataSubjectRequest entity, its ports and the errors its use cases raise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from domain.analytics.membership import AnalyticsProjection
from domain.consent.ledger import ConsentLedger
from domain.customer.profile import CustomerStatus
from domain.errors import Conflict, DomainError
from domain.ports import UnitOfWork

MAX_EXTENSION = timedelta(days=61)
"""The most days one extension may add; the new due date is also at most three months
after receipt (`domain.deadlines.latest_extended_due`), which is what Art. 12(3) allows."""


class RequestType(StrEnum):
    """What the customer asked for."""

    EXPORT = "export"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"


class RequestStatus(StrEnum):
    """Where a request stands. `ready` is an export whose archive can be downloaded."""

    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


IN_PROGRESS = frozenset({RequestStatus.QUEUED, RequestStatus.RUNNING})


@dataclass(frozen=True, slots=True)
class DataSubjectRequest:
    """A request and its outcome. Ids, times and digests only: no personal values."""

    id: UUID
    customer_id: UUID
    type: RequestType
    status: RequestStatus
    requested_by: str
    received_at: datetime
    due_at: datetime
    progress: int = 0
    requested_by_id: str | None = None
    archive_size: int | None = None
    archive_sha256: str | None = None
    expires_at: datetime | None = None
    completed_at: datetime | None = None
    extended_at: datetime | None = None
    extension_reason: str | None = None
    # What the request did (an erasure's report); ids, class names and dates only.
    report: dict[str, Any] | None = None
    # An erasure runs from then on (the end of its grace period); cancellable until it starts.
    erase_after: datetime | None = None
    # The customer's status before the grace period restricted processing.
    held_status: CustomerStatus | None = None

    def shown_status(self, now: datetime) -> RequestStatus:
        """The status as of `now`: a ready archive past its expiry reads as expired even
        before the sweep has deleted it."""
        if (
            self.status is RequestStatus.READY
            and self.expires_at is not None
            and self.expires_at <= now
        ):
            return RequestStatus.EXPIRED
        return self.status


class ArchiveNotReady(Conflict):
    """The export is still being built (or failed): there is no archive to download."""


class ArchiveExpired(DomainError):
    """The archive expired and was (or is about to be) deleted; ask for a new export."""


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """Where a ready archive is and what it is: enough to stream it with headers."""

    path: str
    size: int
    sha256: str
    filename: str
    # The decrypted archive, chunk by chunk (archives are encrypted at rest).
    chunks: AsyncIterator[bytes] = field(repr=False)


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """The officer's queue filters; None means any. `overdue`: in progress past `due_at`."""

    type: RequestType | None = None
    status: RequestStatus | None = None
    overdue: bool | None = None
    customer_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event in a request's life, from the audit log: when, what, who (role and id)."""

    at: datetime
    action: str
    actor_type: str
    actor_id: str | None
    outcome: str


class DsrRepository(Protocol):
    """Storage of data-subject requests (never commits)."""

    async def add_with_job(
        self, request: DataSubjectRequest, *, job_kind: str, single_active: bool
    ) -> bool:
        """Store the request and queue its job. With `single_active`, returns False (and
        stores nothing) when the customer already has one of this type in progress."""
        ...

    async def active(
        self,
        customer_id: UUID,
        request_type: RequestType,
    ) -> DataSubjectRequest | None:
        """The customer's request of this type that is queued or running, if any."""
        ...

    async def get(
        self,
        request_id: UUID,
        customer_id: UUID | None = None,
    ) -> DataSubjectRequest | None:
        """The request (only if it is `customer_id`'s, when given), or None."""
        ...

    def archive_path(self, request: DataSubjectRequest) -> str:
        """Where the archive of an export request lives."""
        ...

    def read_archive(
        self, request: DataSubjectRequest, customer_key: bytes
    ) -> AsyncIterator[bytes]:
        """The archive decrypted, chunk by chunk, with the customer's `contact` key; the file
        is only opened when iteration starts."""
        ...

    async def add_completed(self, request: DataSubjectRequest) -> None:
        """Store a request that was fulfilled at once (restriction, objection)."""
        ...

    async def search(
        self,
        filters: RequestFilter,
        now: datetime,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[DataSubjectRequest]:
        """Requests matching `filters`, newest received first (keyset on (received_at, id))."""
        ...

    async def timeline(self, request_id: UUID) -> list[TimelineEntry]:
        """The audit events naming the request, oldest first."""
        ...

    async def extend(
        self, request_id: UUID, *, due_at: datetime, at: datetime, reason: str
    ) -> bool:
        """Set the extended due date, once: False when it was already extended."""
        ...

    async def set_customer_status(self, customer_id: UUID, status: CustomerStatus) -> None:
        """Set the customer's status (active or restricted)."""
        ...

    async def complete(self, request_id: UUID, *, report: dict[str, Any], at: datetime) -> None:
        """Mark the request completed at `at`, with what it did (an erasure's report)."""
        ...

    async def finish_export(
        self, request_id: UUID, *, size: int, sha256: str, at: datetime, expires_at: datetime
    ) -> None:
        """Mark the export ready: size and digest of the archive, and when it expires."""
        ...

    async def fail(self, request_id: UUID) -> None:
        """Mark the request failed (its job gave up); another may be asked for."""
        ...

    async def expired_exports(self, now: datetime) -> list[UUID]:
        """Ready exports whose archive expired at or before `now`."""
        ...

    async def mark_expired(self, request_ids: Sequence[UUID]) -> None:
        """Record that these exports' archives are gone."""
        ...

    async def delete_customer_archives(self, customer_id: UUID) -> int:
        """Delete every export archive of the customer (and any half-written one), marking
        the ready ones expired; returns how many files were removed."""
        ...

    async def cancel_pending(self, request_id: UUID, at: datetime) -> bool:
        """Cancel a queued request whose job has not started (atomically, against the
        worker): False when it has started, finished or was cancelled already."""
        ...


class DsrUnitOfWork(UnitOfWork, Protocol):
    """The unit of work, with data-subject requests."""

    @property
    def dsr(self) -> DsrRepository: ...
    @property
    def consents(self) -> ConsentLedger: ...
    @property
    def projection(self) -> AnalyticsProjection: ...
