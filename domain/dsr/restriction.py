"""Restrict processing (Art. 18) and object to direct marketing (Art. 21).

While restricted, the customer's data is only stored: no analytics, never contacted for
marketing, support may read it only for a legal claim (domain.support.access). Objecting to
direct marketing withdraws every marketing purpose at once, each with its signed receipt.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from domain.audit.events import ActorType
from domain.clock import Clock
from domain.consent.change import ConsentUnitOfWork, change_consent
from domain.customer.access import Access, record_access
from domain.customer.profile import CustomerStatus
from domain.dsr.requests import DataSubjectRequest, DsrUnitOfWork, RequestStatus, RequestType
from domain.errors import Conflict, NotFound

MARKETING_PURPOSES: tuple[str, ...] = (
    "marketing_email",
    "marketing_sms",
    "personalised_offers",
    "third_party_sharing",
)
"""Direct marketing (Art. 21(2)-(3)), including the profiling and sharing that serve it."""


class RestrictionGround(StrEnum):
    """Why processing is restricted (Art. 18(1) a-d)."""

    ACCURACY_CONTESTED = "accuracy_contested"
    UNLAWFUL_PROCESSING = "unlawful_processing"
    LEGAL_CLAIMS = "legal_claims"
    OBJECTION_PENDING = "objection_pending"


@dataclass(frozen=True, slots=True)
class RestrictionState:
    """The customer's status after the change and the purposes withdrawn by an objection."""

    restricted: bool
    status: CustomerStatus
    withdrawn: tuple[str, ...]


async def _withdraw(
    consent_units: Callable[[], ConsentUnitOfWork], access: Access, purpose: str
) -> bool:
    """Withdraw one purpose if currently granted (its own transaction and receipt)."""
    async with consent_units() as uow:
        latest = await uow.consents.latest(access.subject_id, purpose)
        notices = {n.purpose: n for n in await uow.consents.notices()}
    notice = notices.get(purpose)
    if latest is None or not latest.granted or notice is None:
        return False
    await change_consent(
        consent_units(),
        access.subject_id,
        purpose,
        granted=False,
        notice_version=notice.notice_version,
        actor=access.actor,
        request_id=access.request_id,
    )
    return True


async def set_restriction(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    access: Access,
    *,
    restricted: bool,
    ground: RestrictionGround | None,
    object_to_marketing: bool,
    consent_units: Callable[[], ConsentUnitOfWork],
) -> RestrictionState:
    """Restrict or lift, and (optionally) object to direct marketing; audited, recorded as
    data-subject requests. NotFound for an unknown customer, Conflict for an erased one."""
    withdrawn: list[str] = []
    if object_to_marketing:
        for purpose in MARKETING_PURPOSES:
            if await _withdraw(consent_units, access, purpose):
                withdrawn.append(purpose)
    async with uow_factory() as uow:
        customer = await uow.customers.get(access.subject_id)
        if customer is None:
            raise NotFound("no such customer")
        if customer.status is CustomerStatus.ERASED:
            raise Conflict("this customer's data was erased")
        pending = await uow.dsr.active(access.subject_id, RequestType.ERASURE)
        if not restricted and pending and (pending.erase_after or clock.now()) > clock.now():
            # The grace period of an erasure keeps processing restricted: cancel it first.
            raise Conflict("an erasure is pending; cancel it to lift the restriction")
        status = CustomerStatus.RESTRICTED if restricted else CustomerStatus.ACTIVE
        changed = customer.status is not status
        if changed:
            await uow.dsr.set_customer_status(access.subject_id, status)
            # Restricted data is only stored: out of the analytics projection at once.
            if restricted:
                await uow.projection.remove(access.subject_id)
            else:
                await uow.projection.add(access.subject_id)
            await _record(
                uow,
                clock,
                access,
                RequestType.RESTRICTION,
                {"restricted": restricted, "ground": None if ground is None else ground.value},
            )
        if object_to_marketing:
            await uow.projection.remove(access.subject_id)
            await _record(
                uow, clock, access, RequestType.OBJECTION, {"purposes_withdrawn": withdrawn}
            )
        await record_access(
            uow,
            access,
            "restriction.set" if restricted else "restriction.lift",
            "customer",
            access.subject_id,
            fields=("status",),
        )
        await uow.commit()
    return RestrictionState(restricted, status, tuple(withdrawn))


async def _record(
    uow: DsrUnitOfWork, clock: Clock, access: Access, kind: RequestType, report: dict[str, object]
) -> None:
    now = clock.now()
    await uow.dsr.add_completed(
        DataSubjectRequest(
            id=uuid.uuid4(),
            customer_id=access.subject_id,
            type=kind,
            status=RequestStatus.COMPLETED,
            requested_by=access.actor.type.value,
            requested_by_id=None if access.actor.type is ActorType.CUSTOMER else access.actor.id,
            received_at=now,
            due_at=now,
            progress=100,
            completed_at=now,
            report=report,
        )
    )
