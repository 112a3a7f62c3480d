"""Break-glass: an officer-approved, time-boxed access grant is the only way support reads a
customer whose processing is restricted or whose data was erased.

A self-declared purpose is not enough: the officer names the agent, the customer, the ticket
and how long (at most three days). The grant is audited against the customer, so it shows in
their access log (unless erased), and listed in the officer's queue while it is active.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.clock import Clock
from domain.customer.profile import CustomerStatus
from domain.errors import InvalidValue, NotFound
from domain.ports import UnitOfWork

MAX_GRANT = timedelta(hours=72)
TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """One approved access: which agent may read which customer, for which ticket, until."""

    id: UUID
    customer_id: UUID
    staff_id: UUID
    ticket: str
    granted_by: UUID
    granted_at: datetime
    expires_at: datetime


class AccessGrants(Protocol):
    """Storage of access grants (never commits)."""

    async def add(self, grant: AccessGrant) -> None:
        """Store a grant."""
        ...

    async def active(
        self, customer_id: UUID, staff_id: UUID, ticket: str, now: datetime
    ) -> AccessGrant | None:
        """The grant letting `staff_id` read `customer_id` for `ticket` at `now`, if any."""
        ...

    async def all_active(self, now: datetime) -> list[AccessGrant]:
        """Every grant still running at `now`, soonest to expire first."""
        ...

    async def staff_exists(self, staff_id: UUID) -> bool:
        """Whether `staff_id` is a staff user."""
        ...


class GrantUnitOfWork(UnitOfWork, Protocol):
    """The unit of work, with access grants."""

    @property
    def access_grants(self) -> AccessGrants: ...


def _uuid(text: str, field: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidValue(field, "must be a UUID") from None


async def grant_access(
    uow_factory: Callable[[], GrantUnitOfWork],
    clock: Clock,
    officer: Actor,
    *,
    customer_text: str,
    staff_text: str,
    ticket: str,
    hours: int,
    request_id: str | None = None,
) -> AccessGrant:
    """Approve `staff` reading a held customer's data for `ticket` during `hours` (1-72).

    InvalidValue for a bad ticket, duration or ids; NotFound for an unknown customer or
    staff member. Audited against the customer in the same transaction."""
    if not TICKET.fullmatch(ticket):
        raise InvalidValue("ticket", "a ticket reference is 1-32 letters, digits, . _ -")
    if not 1 <= hours <= MAX_GRANT.total_seconds() // 3600:
        raise InvalidValue("hours", "must be 1 to 72")
    customer_id = _uuid(customer_text, "customer_id")
    staff_id = _uuid(staff_text, "staff_id")
    now = clock.now()
    async with uow_factory() as uow:
        customer = await uow.customers.get(customer_id)
        if customer is None or not await uow.access_grants.staff_exists(staff_id):
            raise NotFound("no such customer or staff member")
        grant = AccessGrant(
            id=uuid.uuid4(),
            customer_id=customer_id,
            staff_id=staff_id,
            ticket=ticket,
            granted_by=UUID(officer.id),
            granted_at=now,
            expires_at=now + timedelta(hours=hours),
        )
        await uow.access_grants.add(grant)
        await uow.audit.append(
            AuditRecord(
                officer,
                "access_grant.create",
                "access_grant",
                outcome=Outcome.ALLOWED,
                # An erased customer has no access log to show it in: no subject then.
                subject_id=None if customer.status is CustomerStatus.ERASED else customer_id,
                resource_id=str(grant.id),
                purpose=f"legal_claim;ticket={ticket}",
                request_id=request_id,
            )
        )
        await uow.commit()
    return grant


async def active_grants(
    uow_factory: Callable[[], GrantUnitOfWork],
    clock: Clock,
    officer: Actor,
    request_id: str | None = None,
) -> list[AccessGrant]:
    """Every access grant still running (the officer's queue); the read is audited."""
    async with uow_factory() as uow:
        grants = await uow.access_grants.all_active(clock.now())
        await uow.audit.append(
            AuditRecord(officer, "access_grant.list", "access_grant", request_id=request_id)
        )
        await uow.commit()
    return grants
