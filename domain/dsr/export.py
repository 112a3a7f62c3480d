"""Ask for a copy of my data (Art. 15 and 20), follow it, and download the archive."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from domain.audit.events import AuditRecord
from domain.clock import Clock
from domain.customer.access import Access, deny_not_found, parse_id, record_access
from domain.dsr.own_request import open_request, read_own_request
from domain.dsr.requests import (
    ArchiveExpired,
    ArchiveFile,
    ArchiveNotReady,
    DataSubjectRequest,
    DsrUnitOfWork,
    RequestStatus,
    RequestType,
)
from domain.errors import NotFound
from domain.retention import RetentionClass

EXPORT_JOB = "export"


async def _record(
    uow: DsrUnitOfWork, access: Access, request_id: object, purpose: str | None
) -> None:
    await uow.audit.append(
        AuditRecord(
            actor=access.actor,
            action="export.request",
            resource_type="dsr_request",
            subject_id=access.subject_id,
            resource_id=str(request_id),
            purpose=purpose,
            request_id=access.request_id,
        )
    )


async def request_export(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    access: Access,
    *,
    purpose: str | None = None,
) -> tuple[DataSubjectRequest, bool]:
    """Queue an export of the customer's data, or return the one already in progress.

    Returns (request, created). At most one export per customer is in progress at a time,
    even under concurrent calls (the store refuses a second active one). `purpose` is
    recorded on the audit event (an officer's `rights_fulfilment`). NotFound for a customer
    that does not exist.
    """
    async with uow_factory() as uow:
        if await uow.customers.get(access.subject_id) is None:
            raise NotFound("no such customer")

    async def record(uow: DsrUnitOfWork, request_id: uuid.UUID) -> None:
        await _record(uow, access, request_id, purpose)

    opened = await open_request(
        uow_factory, clock, access, RequestType.EXPORT, job_kind=EXPORT_JOB, record=record
    )
    if opened is None:
        raise ArchiveNotReady("an export is already being prepared")
    return opened


async def read_export(
    uow_factory: Callable[[], DsrUnitOfWork], access: Access, export_id: str
) -> DataSubjectRequest:
    """The customer's export request; NotFound (audited as denied) for anyone else's."""
    return await read_own_request(
        uow_factory, access, export_id, kind=RequestType.EXPORT, action="export.read"
    )


async def open_archive(
    uow_factory: Callable[[], DsrUnitOfWork], clock: Clock, access: Access, export_id: str
) -> ArchiveFile:
    """The ready archive of the customer's export, after a durable `export.download` event.

    ArchiveNotReady (409) while it is being built or when it failed; ArchiveExpired (410)
    after its expiry; NotFound for an id that is not the customer's export.
    """
    async with uow_factory() as uow:
        wanted = parse_id(export_id)
        found = None if wanted is None else await uow.dsr.get(wanted, access.subject_id)
        if found is None or found.type is not RequestType.EXPORT:
            raise await deny_not_found(uow, access, "export.download", "dsr_request", wanted)
        status = found.shown_status(clock.now())
        if status is RequestStatus.EXPIRED:
            raise ArchiveExpired("the archive has expired; ask for a new export")
        if status is not RequestStatus.READY or found.archive_size is None:
            raise ArchiveNotReady(f"the export is {status.value}, not ready")
        # Archives are sealed under a key wrapped by the customer's contact key.
        customer_key = await uow.keys.key_for(found.customer_id, RetentionClass.CONTACT)
        await record_access(uow, access, "export.download", "dsr_request", found.id)
        await uow.commit()
    return ArchiveFile(
        path=uow.dsr.archive_path(found),
        size=found.archive_size,
        sha256=found.archive_sha256 or "",
        filename=f"custodian-export-{found.id}.zip",
        chunks=uow.dsr.read_archive(found, customer_key),
    )
