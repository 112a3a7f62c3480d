"""May we send this customer marketing on this channel right now? (the officer's view)

Answered by the same contact policy every campaign asks (domain.campaigns.policy): consent
for the channel's purpose, restriction, objection, a pending erasure, the customer's
preferences, the organisation's frequency caps and a complaint's cool-off. Every check is
audited: it reads the customer's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.audit.events import Actor, AuditRecord
from domain.campaigns.policy import ContactDecision, ContactRules, decide
from domain.campaigns.ports import ContactStore
from domain.clock import Clock
from domain.consent.ledger import ConsentEvent, ConsentLedger
from domain.consent.purposes import CHANNEL_PURPOSES
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
    @property
    def campaigns(self) -> ContactStore: ...


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
    decision: ContactDecision


async def check_contactability(
    uow: ContactabilityUnitOfWork,
    customer_id: UUID,
    channel: str,
    actor: Actor,
    request_id: str | None = None,
    *,
    clock: Clock,
    rules: ContactRules | None = None,
) -> Contactability:
    """Whether marketing may be sent to the customer on `channel` (email or sms) now, by
    the contact policy, with its reasons and (when only waits apply) the earliest time.

    NotFound for an unknown customer or channel.
    """
    purpose = CHANNEL_PURPOSES.get(channel)
    if purpose is None:
        raise NotFound("no such channel")
    rules = rules or ContactRules()
    now = clock.now()
    async with uow:
        facts = await uow.campaigns.facts([customer_id], purpose, now, rules.complaint_cool_off)
        found = facts.get(customer_id)
        if found is None:
            raise NotFound("no such customer")
        latest = await uow.consents.latest(customer_id, purpose)
        current = {n.purpose: n.notice_version for n in await uow.consents.notices()}
        decision = decide(found, channel, rules, now)
        await uow.audit.append(
            AuditRecord(
                actor,
                "check_contactability",
                "consent",
                subject_id=customer_id,
                resource_id=purpose,
                fields=("granted", "status", "contact_preferences", "contacts", "complaints"),
                purpose=purpose,
                request_id=request_id,
            )
        )
        await uow.commit()
    outdated = latest is not None and latest.notice_version != current.get(purpose)
    reasons = tuple(reason.message for reason in decision.reasons)
    return Contactability(
        customer_id,
        channel,
        purpose,
        decision.contactable,
        reasons,
        latest,
        outdated,
        decision,
    )
