"""Ask for a correction of data I cannot edit, follow my requests, and (privacy officer)
read what customers asked and decide."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.clock import Clock
from domain.customer.access import (
    Access,
    deny_not_found,
    deny_read_not_found,
    parse_id,
    record_access,
    record_read,
)
from domain.customer.corrections import (
    CORRECTABLE_FIELDS,
    FIELD_MAX_LENGTH,
    FREE_TEXT_FIELDS,
    AlreadyDecided,
    CorrectionRequest,
    CorrectionStatus,
    Decision,
    TargetType,
)
from domain.deadlines import due_date
from domain.dsr.queue import RIGHTS_FULFILMENT
from domain.errors import Conflict, InvalidValue, NotFound, ValidationFailed
from domain.pagination import Keyset, Page, Position, key_of, read_page
from domain.ports import UnitOfWork
from domain.values import free_text, line_of_text

CORRECTION_FIELDS = ("target", "current_value", "requested_value", "reason", "status", "decision")


@dataclass(frozen=True, slots=True)
class CorrectionAsk:
    """What the customer asks: which field of which record, the value wanted, and why."""

    target_type: TargetType
    target_id: str
    field: str
    requested_value: str
    reason: str


def _validate(ask: CorrectionAsk) -> None:
    problems: dict[str, str] = {}
    if ask.field not in CORRECTABLE_FIELDS[ask.target_type]:
        allowed = ", ".join(sorted(CORRECTABLE_FIELDS[ask.target_type]))
        problems["target.field"] = f"must be one of: {allowed}"
    else:
        check = free_text if ask.field in FREE_TEXT_FIELDS else line_of_text
        try:
            check(ask.requested_value, "requested_value", max_length=FIELD_MAX_LENGTH[ask.field])
        except InvalidValue as error:
            problems[error.field] = error.message
    try:
        free_text(ask.reason, "reason", max_length=1000)
    except InvalidValue as error:
        problems[error.field] = error.message
    if problems:
        raise ValidationFailed(problems)


async def submit_correction(
    uow_factory: Callable[[], UnitOfWork], clock: Clock, access: Access, ask: CorrectionAsk
) -> CorrectionRequest:
    """Record the request, due one month after receipt, with a `correction.create` event.

    ValidationFailed for a field outside the allow-list or bad lengths; NotFound (audited as
    denied) when the record is not the customer's; Conflict when a pending request already
    names the same field of the same record."""
    _validate(ask)
    async with uow_factory() as uow:
        target = parse_id(ask.target_id)
        exists, current = (
            (False, None)
            if target is None
            else await uow.corrections.current_value(
                access.subject_id, ask.target_type, target, ask.field
            )
        )
        if target is None or not exists:
            raise await deny_not_found(
                uow, access, "correction.create", ask.target_type.value, target
            )
        if await uow.corrections.has_pending(target, ask.field):
            raise Conflict("a correction of this field is already pending")
        now = clock.now()
        request = CorrectionRequest(
            id=uuid.uuid4(),
            customer_id=access.subject_id,
            target_type=ask.target_type,
            target_id=target,
            field=ask.field,
            current_value=current,
            requested_value=ask.requested_value.strip(),
            reason=ask.reason.strip(),
            status=CorrectionStatus.SUBMITTED,
            received_at=now,
            due_at=due_date(now),
        )
        await uow.corrections.add(request)
        await record_access(
            uow,
            access,
            "correction.create",
            "correction",
            request.id,
            fields=(f"{ask.target_type.value}.{ask.field}",),
        )
        await uow.commit()
    return request


async def list_corrections(
    uow_factory: Callable[[], UnitOfWork], access: Access, *, limit: int, cursor: str | None
) -> Page[CorrectionRequest]:
    """The customer's requests, newest first, after a `correction.list` event."""
    async with uow_factory().reading() as uow:
        keyset: Keyset[Position, CorrectionRequest] = Keyset.by_position(
            uow.cursors,
            f"corrections:{access.subject_id}",
            lambda r: Position(r.received_at, r.id),
        )
        page = await read_page(
            keyset,
            cursor,
            limit,
            lambda after, n: uow.corrections.list_for_customer(
                access.subject_id, limit=n, before=key_of(after)
            ),
        )
    await record_read(uow, access, "correction.list", "correction", fields=CORRECTION_FIELDS)
    return page


async def read_correction(
    uow_factory: Callable[[], UnitOfWork], access: Access, request_id: str
) -> CorrectionRequest:
    """One of the customer's requests; NotFound (audited as denied) otherwise."""
    async with uow_factory().reading() as uow:
        wanted = parse_id(request_id)
        found = None if wanted is None else await uow.corrections.get(wanted, access.subject_id)
        if found is None:
            raise await deny_read_not_found(uow, access, "correction.read", "correction", wanted)
    await record_read(
        uow, access, "correction.read", "correction", found.id, fields=CORRECTION_FIELDS
    )
    return found


async def list_received_corrections(
    uow_factory: Callable[[], UnitOfWork],
    officer: Actor,
    *,
    pending: bool | None,
    limit: int,
    cursor: str | None,
    request_id: str | None = None,
) -> Page[CorrectionRequest]:
    """Every customer's correction requests, newest first (`pending`: only the undecided,
    or only the decided ones), for the privacy officer to decide with what was asked.

    They carry the customer's values, so each request shown is audited as a
    `correction.read` of its customer (purpose `rights_fulfilment`, the fields shown),
    and the page is returned only once every event is durable: each customer's access log
    shows that the officer read their request."""
    list_name = f"corrections-received:{pending}"
    async with uow_factory().reading() as uow:
        keyset: Keyset[Position, CorrectionRequest] = Keyset.by_position(
            uow.cursors, list_name, lambda r: Position(r.received_at, r.id)
        )
        page = await read_page(
            keyset,
            cursor,
            limit,
            lambda after, n: uow.corrections.list_received(
                pending=pending, limit=n, before=key_of(after)
            ),
        )
    records = [
        AuditRecord(
            officer,
            "correction.read",
            "correction",
            subject_id=found.customer_id,
            resource_id=str(found.id),
            fields=CORRECTION_FIELDS,
            purpose=RIGHTS_FULFILMENT,
            request_id=request_id,
        )
        for found in page.items
    ]
    # Queued together, the events share the group commit's transactions.
    await asyncio.gather(*(uow.audit_trail.record(record) for record in records))
    return page


async def decide_correction(
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    officer: Actor,
    request_id: str,
    *,
    decision: Decision,
    reason: str,
    http_request_id: str | None = None,
) -> CorrectionRequest:
    """Apply or reject a pending request (privacy officer). Applying changes the record and
    keeps the value it replaced on the request; both, and the `correction.decide` event
    (subject: the customer), commit together.

    The audit subject is the request's customer. NotFound (audited as denied) for an
    unknown id; AlreadyDecided when it was decided before; InvalidValue for an empty reason
    or one holding control characters (`free_text`).
    """
    text = free_text(reason, "reason", max_length=1000)
    async with uow_factory() as uow:
        wanted = parse_id(request_id)
        found = None if wanted is None else await uow.corrections.get(wanted)
        if found is None:
            await uow.audit.append(
                AuditRecord(
                    officer,
                    "correction.decide",
                    "correction",
                    Outcome.DENIED,
                    resource_id=None if wanted is None else str(wanted),
                    request_id=http_request_id,
                )
            )
            await uow.commit()
            raise NotFound("no such correction request")
        if not found.status.pending:
            raise AlreadyDecided("this correction request was already decided")
        previous = None
        status = CorrectionStatus.REJECTED
        if decision is Decision.APPLY:
            exists, previous = await uow.corrections.current_value(
                found.customer_id, found.target_type, found.target_id, found.field
            )
            if not exists:  # erased or removed since the request was made
                raise Conflict("the record to correct no longer exists")
            await uow.corrections.set_value(
                found.customer_id,
                found.target_type,
                found.target_id,
                found.field,
                found.requested_value,
            )
            status = CorrectionStatus.APPLIED
        decided = replace(
            found,
            status=status,
            decided_at=clock.now(),
            decided_by=officer.id,
            decision_reason=text,
            previous_value=previous,
        )
        await uow.corrections.save_decision(decided)
        await uow.audit.append(
            AuditRecord(
                officer,
                "correction.decide",
                "correction",
                subject_id=found.customer_id,
                resource_id=str(found.id),
                fields=(f"{found.target_type.value}.{found.field}",),
                request_id=http_request_id,
            )
        )
        await uow.commit()
    return decided
