"""Opening a data-subject request for the customer (or returning the one in progress), and
reading one of the customer's own requests, audited either way."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from domain.audit.events import ActorType
from domain.clock import Clock
from domain.customer.access import Access, deny_not_found, parse_id, record_access
from domain.deadlines import due_date
from domain.dsr.requests import (
    DataSubjectRequest,
    DsrUnitOfWork,
    RequestStatus,
    RequestType,
)


async def read_own_request(
    uow_factory: Callable[[], DsrUnitOfWork],
    access: Access,
    request_id: str,
    *,
    kind: RequestType,
    action: str,
) -> DataSubjectRequest:
    """The customer's request of `kind`; NotFound (audited as denied) for a missing id, a
    malformed one, another kind's, or anyone else's."""
    async with uow_factory() as uow:
        wanted = parse_id(request_id)
        found = None if wanted is None else await uow.dsr.get(wanted, access.subject_id)
        if found is None or found.type is not kind:
            raise await deny_not_found(uow, access, action, "dsr_request", wanted)
        await record_access(uow, access, action, "dsr_request", found.id)
        await uow.commit()
    return found


async def open_request(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    access: Access,
    kind: RequestType,
    *,
    job_kind: str,
    record: Callable[[DsrUnitOfWork, uuid.UUID], Awaitable[None]],
    prepare: Callable[[DsrUnitOfWork, DataSubjectRequest], Awaitable[DataSubjectRequest]]
    | None = None,
    on_created: Callable[[DsrUnitOfWork], Awaitable[None]] | None = None,
) -> tuple[DataSubjectRequest, bool] | None:
    """Queue a request of `kind` (and its job) for the customer, or return the one already
    in progress; `record` appends the audit event in the same transaction either way.

    `prepare` may check the customer (raising a domain error) and complete a new request
    before it is stored; `on_created` runs in its transaction only when one was created.

    Returns (request, created), or None when concurrent callers kept winning the race
    between the check and the insert (the store allows one active request per kind)."""
    for _ in range(2):  # a concurrent request may win between our check and our insert
        async with uow_factory() as uow:
            running = await uow.dsr.active(access.subject_id, kind)
            if running is not None:
                await record(uow, running.id)
                await uow.commit()
                return running, False
            now = clock.now()
            staff = access.actor.type is not ActorType.CUSTOMER
            request = DataSubjectRequest(
                id=uuid.uuid4(),
                customer_id=access.subject_id,
                type=kind,
                status=RequestStatus.QUEUED,
                requested_by=access.actor.type.value,
                requested_by_id=access.actor.id if staff else None,
                received_at=now,
                due_at=due_date(now),
            )
            if prepare is not None:
                request = await prepare(uow, request)
            if await uow.dsr.add_with_job(request, job_kind=job_kind, single_active=True):
                if on_created is not None:
                    await on_created(uow)
                await record(uow, request.id)
                await uow.commit()
                return request, True
    return None
