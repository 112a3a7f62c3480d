"""May we send this customer marketing on this channel right now?

Answered from the current consent for the channel's purpose and the customer's status
(restricted or erased customers are never contacted), so campaigns in every system ask the
same question and get the same answer. Every check is audited: it reads the customer's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.audit.events import Actor, AuditRecord
from domain.consent.ledger import ConsentEvent, ConsentLedger
from domain.consent.purposes import CHANNEL_PURPOSES
from domain.customer.profile import CustomerStatus
from domain.errors import NotFound
from domain.ports import AuditSink, CustomerRepository, UnitOfWorkBase


class ContactabilityUnitOfWork(UnitOfWorkBase, Protocol):
    """What the check needs from a unit of work."""

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def consents(self) -> ConsentLedger: ...
    @property
    def audit(self) -> AuditSink: ...


@dataclass(frozen=True, slots=True)
class Contactability:
    """The answer, with the reasons a campaign tool can show."""

    customer_id: UUID
    channel: str
    purpose: str
    contactable: bool
    reasons: tuple[str, ...]
    consent: ConsentEvent | None
    outdated_notice: bool


async def check_contactability(
    uow: ContactabilityUnitOfWork,
    customer_id: UUID,
    channel: str,
    actor: Actor,
    request_id: str | None = None,
) -> Contactability:
    """Whether marketing may be sent to the customer on `channel` (email or sms).

    NotFound for an unknown customer or channel. Contactable only when the customer is
    active and their latest decision for the channel's purpose is a grant.
    """
    purpose = CHANNEL_PURPOSES.get(channel)
    if purpose is None:
        raise NotFound("no such channel")
    async with uow:
        customer = await uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("no such customer")
        latest = await uow.consents.latest(customer_id, purpose)
        current = {n.purpose: n.notice_version for n in await uow.consents.notices()}
        reasons = []
        if customer.status is not CustomerStatus.ACTIVE:
            reasons.append(f"customer is {customer.status.value}")
        if latest is None:
            reasons.append(f"no consent to {purpose}")
        elif not latest.granted:
            reasons.append(f"consent to {purpose} withdrawn")
        await uow.audit.append(
            AuditRecord(
                actor,
                "check_contactability",
                "consent",
                subject_id=customer_id,
                resource_id=purpose,
                fields=("granted",),
                purpose=purpose,
                request_id=request_id,
            )
        )
        await uow.commit()
    outdated = latest is not None and latest.notice_version != current.get(purpose)
    return Contactability(
        customer_id, channel, purpose, not reasons, tuple(reasons), latest, outdated
    )
