"""The privacy officer's queue: every data-subject request, overdue ones flagged, the one
extension Art. 12(3) allows, and exports taken by letter or phone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.clock import Clock
from domain.customer.access import Access, parse_id
from domain.deadlines import latest_extended_due
from domain.dsr.export import request_export
from domain.dsr.legal_claim import export_purpose
from domain.dsr.requests import (
    IN_PROGRESS,
    MAX_EXTENSION,
    DataSubjectRequest,
    DsrUnitOfWork,
    RequestFilter,
    TimelineEntry,
)
from domain.errors import Conflict, InvalidValue, NotFound
from domain.pagination import Keyset, Page, Position, filtered_list, key_of, read_page

RIGHTS_FULFILMENT = "rights_fulfilment"
"""The purpose recorded on every officer access to a request or a customer's data for it."""


def is_overdue(request: DataSubjectRequest, now: datetime) -> bool:
    """In progress past its due date."""
    return request.status in IN_PROGRESS and request.due_at < now


@dataclass(frozen=True, slots=True)
class RequestDetail:
    """A request with its timeline."""

    request: DataSubjectRequest
    timeline: list[TimelineEntry]


async def _audit(
    uow: DsrUnitOfWork,
    actor: Actor,
    action: str,
    *,
    subject_id: UUID | None,
    resource_id: UUID | None,
    request_id: str | None,
    outcome: Outcome = Outcome.ALLOWED,
) -> None:
    await uow.audit.append(
        AuditRecord(
            actor=actor,
            action=action,
            resource_type="dsr_request",
            outcome=outcome,
            subject_id=subject_id,
            resource_id=None if resource_id is None else str(resource_id),
            purpose=RIGHTS_FULFILMENT,
            request_id=request_id,
        )
    )


async def list_requests(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    actor: Actor,
    filters: RequestFilter,
    *,
    limit: int,
    cursor: str | None,
    request_id: str | None = None,
) -> Page[DataSubjectRequest]:
    """One page of the queue, newest received first, after a durable audit event."""
    list_name = filtered_list("dsr-queue", filters)
    now = clock.now()
    async with uow_factory() as uow:
        keyset: Keyset[Position, DataSubjectRequest] = Keyset.by_position(
            uow.cursors, list_name, lambda r: Position(r.received_at, r.id)
        )
        page = await read_page(
            keyset,
            cursor,
            limit,
            lambda after, n: uow.dsr.search(filters, now, limit=n, before=key_of(after)),
        )
        await _audit(
            uow, actor, "dsr_request.list", subject_id=None, resource_id=None, request_id=request_id
        )
        await uow.commit()
    return page


async def _find(
    uow: DsrUnitOfWork, actor: Actor, action: str, request_text: str, request_id: str | None
) -> DataSubjectRequest:
    wanted = parse_id(request_text)
    found = None if wanted is None else await uow.dsr.get(wanted)
    if found is None:
        await _audit(
            uow,
            actor,
            action,
            subject_id=None,
            resource_id=wanted,
            request_id=request_id,
            outcome=Outcome.DENIED,
        )
        await uow.commit()
        raise NotFound("no such request")
    return found


async def read_request(
    uow_factory: Callable[[], DsrUnitOfWork],
    actor: Actor,
    request_text: str,
    *,
    request_id: str | None = None,
) -> RequestDetail:
    """A request and the timeline of its events; NotFound for an unknown id."""
    async with uow_factory() as uow:
        found = await _find(uow, actor, "dsr_request.read", request_text, request_id)
        timeline = await uow.dsr.timeline(found.id)
        await _audit(
            uow,
            actor,
            "dsr_request.read",
            subject_id=found.customer_id,
            resource_id=found.id,
            request_id=request_id,
        )
        await uow.commit()
    return RequestDetail(found, timeline)


async def extend_request(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    actor: Actor,
    request_text: str,
    *,
    extension: timedelta,
    reason: str,
    request_id: str | None = None,
) -> DataSubjectRequest:
    """Extend the due date once, with a recorded reason (audited): by 1 to 61 days, to at
    most three months after receipt (the month and Art. 12(3)'s two further months, counted
    as every deadline is, `domain.deadlines`).

    InvalidValue (`days`) past that date; Conflict when it was already extended or is no
    longer in progress."""
    if not timedelta(days=1) <= extension <= MAX_EXTENSION:
        raise InvalidValue("days", "an extension is 1 day to 2 months")
    async with uow_factory() as uow:
        found = await _find(uow, actor, "dsr_request.extend", request_text, request_id)
        if found.status not in IN_PROGRESS:
            raise Conflict(f"the request is {found.status.value}: nothing left to extend")
        extended_due = found.due_at + extension
        latest = latest_extended_due(found.received_at)
        if found.extended_at is None and extended_due > latest:
            raise InvalidValue(
                "days",
                f"the due date can move to {latest.date().isoformat()} at the latest, "
                "three months after receipt",
            )
        if found.extended_at is not None or not await uow.dsr.extend(
            found.id, due_at=extended_due, at=clock.now(), reason=reason
        ):
            raise Conflict("the request was already extended; it can be extended only once")
        await _audit(
            uow,
            actor,
            "dsr_request.extend",
            subject_id=found.customer_id,
            resource_id=found.id,
            request_id=request_id,
        )
        await uow.commit()
        extended = await uow.dsr.get(found.id)
    if extended is None:  # pragma: no cover  (just written in this unit)
        raise NotFound("no such request")
    return extended


async def officer_export(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    actor: Actor,
    customer_text: str,
    *,
    request_id: str | None = None,
    purpose: str | None = None,
    ticket: str | None = None,
) -> tuple[DataSubjectRequest, bool]:
    """An export for a request received by letter or phone, audited as `rights_fulfilment`.
    NotFound for an unknown customer (audited as denied). A restricted or erased customer
    needs `purpose` legal_claim and a `ticket` (RestrictedCustomer otherwise)."""
    customer_id = parse_id(customer_text)
    if customer_id is None:
        async with uow_factory() as uow:
            await _audit(
                uow,
                actor,
                "export.request",
                subject_id=None,
                resource_id=None,
                request_id=request_id,
                outcome=Outcome.DENIED,
            )
            await uow.commit()
        raise NotFound("no such customer")
    recorded = await export_purpose(
        uow_factory,
        actor,
        customer_id,
        default=RIGHTS_FULFILMENT,
        purpose=purpose,
        ticket=ticket,
        request_id=request_id,
    )
    try:
        return await request_export(
            uow_factory, clock, Access(actor, customer_id, request_id), purpose=recorded
        )
    except NotFound:
        async with uow_factory() as uow:
            await _audit(
                uow,
                actor,
                "export.request",
                subject_id=None,
                resource_id=None,
                request_id=request_id,
                outcome=Outcome.DENIED,
            )
            await uow.commit()
        raise
