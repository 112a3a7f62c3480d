"""Erasure that cannot happen by accident: a recent sign-in, an explicit confirmation, and a
grace period during which the customer can change their mind.

The customer asks with a token carrying `dsr:erase` (asked for separately, never by
default) whose `auth_time` is recent, and retypes a fixed phrase. The request then waits
for the grace period: processing is restricted meanwhile (no marketing, no analytics), and
cancelling restores the status the customer had. When the grace period ends the erasure
job runs as before. The one-month legal deadline (`due_at`, domain.deadlines) counts from
receipt, so the grace period is at most the shortest month (28 days) minus the time the job
needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.audit.events import Outcome
from domain.clock import Clock
from domain.customer.access import Access, deny_not_found, parse_id, record_access
from domain.customer.profile import CustomerStatus
from domain.dsr.erasure import ERASURE_JOB
from domain.dsr.own_request import open_request
from domain.dsr.requests import (
    DataSubjectRequest,
    DsrUnitOfWork,
    RequestStatus,
    RequestType,
)
from domain.errors import Conflict, InvalidValue, NotFound
from domain.recent_sign_in import require_recent_sign_in

CONFIRMATION_PHRASE = "erase my data"
"""What the customer types to confirm, exactly."""
MAX_GRACE = timedelta(days=25)
"""The longest grace period: the erasure must still finish within the legal month."""


@dataclass(frozen=True, slots=True)
class ErasurePolicy:
    """How recent the sign-in must be, and how long the customer may cancel."""

    reauth: timedelta = timedelta(seconds=300)
    grace: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.grace <= MAX_GRACE:
            raise ValueError("the grace period must be 0 to 25 days")


class ConfirmationRequired(InvalidValue):
    """The body does not carry the confirmation phrase."""

    def __init__(self) -> None:
        super().__init__("confirmation", f'must be the phrase "{CONFIRMATION_PHRASE}"')


class ErasureNotCancellable(Conflict):
    """The erasure has started, finished or was cancelled already."""


def check_deliberate(
    *, now: datetime, auth_time: datetime | None, confirmation: str | None, policy: ErasurePolicy
) -> None:
    """RecentSignInRequired unless the person signed in within `policy.reauth`;
    ConfirmationRequired unless `confirmation` is the phrase."""
    require_recent_sign_in(now=now, auth_time=auth_time, within=policy.reauth, what="erasure")
    if confirmation != CONFIRMATION_PHRASE:
        raise ConfirmationRequired


async def ask_for_erasure(
    uow_factory: Callable[[], DsrUnitOfWork],
    clock: Clock,
    access: Access,
    *,
    auth_time: datetime | None,
    confirmation: str | None,
    policy: ErasurePolicy,
) -> tuple[DataSubjectRequest, bool]:
    """Queue the erasure to run when the grace period ends (restricting processing until
    then), or return the one already pending or running. Returns (request, created).

    RecentSignInRequired, ConfirmationRequired (checked first, nothing recorded);
    NotFound for an unknown customer, Conflict for one already erased."""
    now = clock.now()
    check_deliberate(now=now, auth_time=auth_time, confirmation=confirmation, policy=policy)

    async def prepare(uow: DsrUnitOfWork, request: DataSubjectRequest) -> DataSubjectRequest:
        customer = await uow.customers.get(access.subject_id)
        if customer is None:
            raise NotFound("no such customer")
        if customer.status is CustomerStatus.ERASED:
            raise Conflict("this customer's data was erased")
        return replace(
            request, erase_after=request.received_at + policy.grace, held_status=customer.status
        )

    async def on_created(uow: DsrUnitOfWork) -> None:
        if policy.grace:
            # Art. 18 for the grace period: nothing but keeping the data happens.
            await uow.dsr.set_customer_status(access.subject_id, CustomerStatus.RESTRICTED)
        # Out of the analytics projection from the request on, in its transaction.
        await uow.projection.remove(access.subject_id)

    async def record(uow: DsrUnitOfWork, request_id: uuid.UUID) -> None:
        await record_access(uow, access, "erasure.request", "dsr_request", request_id)

    opened = await open_request(
        uow_factory,
        clock,
        access,
        RequestType.ERASURE,
        job_kind=ERASURE_JOB,
        record=record,
        prepare=prepare,
        on_created=on_created,
    )
    if opened is None:
        raise Conflict("an erasure is already being prepared")
    return opened


async def cancel_erasure(
    uow_factory: Callable[[], DsrUnitOfWork], clock: Clock, access: Access, erasure_id: str
) -> DataSubjectRequest:
    """Cancel the customer's pending erasure and give back the status processing had
    before, in one transaction with its audit event. NotFound when it is not theirs;
    ErasureNotCancellable once it has started, finished or was cancelled (audited denied)."""
    now = clock.now()
    async with uow_factory() as uow:
        wanted = parse_id(erasure_id)
        found = None if wanted is None else await uow.dsr.get(wanted, access.subject_id)
        if found is None or found.type is not RequestType.ERASURE:
            raise await deny_not_found(uow, access, "erasure.cancel", "dsr_request", wanted)
        if not await uow.dsr.cancel_pending(found.id, now):
            await record_access(
                uow, access, "erasure.cancel", "dsr_request", found.id, outcome=Outcome.DENIED
            )
            await uow.commit()
            raise ErasureNotCancellable("this erasure has started or ended; it cannot be cancelled")
        await uow.dsr.set_customer_status(
            access.subject_id, found.held_status or CustomerStatus.ACTIVE
        )
        # Back in the analytics projection if the membership rule admits them again.
        await uow.projection.add(access.subject_id)
        await record_access(
            uow, access, "erasure.cancel", "dsr_request", found.id, fields=("status",)
        )
        await uow.commit()
    return replace(found, status=RequestStatus.CANCELLED, completed_at=now)
