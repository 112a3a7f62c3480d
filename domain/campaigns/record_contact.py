"""A campaign tool records a marketing contact it sent, and is refused when the policy says no.

Recording is the moment the caps are enforced: the customer's contact lock is taken first,
so when two campaigns race for a customer's last free slot, the second decides only after
the first committed, sees its contact and is refused. Recording is idempotent per client
and key: the same key answers the contact recorded first (and refuses a different request
under a used key). The contact appears in the customer's interactions (kind marketing, with
the campaign) and the decision in their access log, committed with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from domain.audit.events import Actor, Outcome
from domain.campaigns.audience import anonymous_refusal, campaign_purpose, check_record
from domain.campaigns.policy import ContactDecision, ContactRules, decide, purpose_of
from domain.campaigns.ports import CampaignUnitOfWork, RecordedContact
from domain.clock import Clock
from domain.customer.interactions import (
    Channel,
    Interaction,
    InteractionDirection,
    InteractionKind,
)
from domain.customer.profile import CustomerStatus
from domain.errors import Conflict, InvalidValue

RECORD_ACTION = "campaign.contact_record"

# Interactions have no "sms" channel; a text message is a contact by phone.
_INTERACTION_CHANNELS = {"email": Channel.EMAIL, "sms": Channel.PHONE}
_SUMMARIES = {"email": "Marketing email", "sms": "Marketing text message (SMS)"}


class NotContactable(Conflict):
    """The policy does not allow this contact now; `decision` says why and until when."""

    def __init__(self, decision: ContactDecision) -> None:
        super().__init__("the customer may not be contacted now: " + _codes(decision))
        self.decision = decision


def _codes(decision: ContactDecision) -> str:
    return ", ".join(reason.code.value for reason in decision.reasons)


@dataclass(frozen=True, slots=True)
class ContactToRecord:
    """What the campaign tool says it sent."""

    campaign_id: str
    customer_id: UUID
    channel: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ContactRecorded:
    """The stored contact; `replayed` when the key had already recorded it."""

    contact: RecordedContact
    replayed: bool


async def record_contact(
    uow_factory: Callable[[], CampaignUnitOfWork],
    clock: Clock,
    rules: ContactRules,
    actor: Actor,
    ask: ContactToRecord,
    *,
    request_id: str | None = None,
) -> ContactRecorded:
    """Store the contact if the policy allows it at this moment.

    NotContactable (a Conflict) when it does not; Conflict when the key was used for a
    different contact; InvalidValue for a malformed campaign id, channel or key.
    """
    campaign_purpose(ask.campaign_id)
    try:
        purpose = purpose_of(ask.channel)
    except ValueError:
        raise InvalidValue("channel", "must be email or sms") from None
    if not 1 <= len(ask.idempotency_key) <= 100:
        raise InvalidValue("idempotency_key", "1 to 100 characters")
    client_id = actor.client_id or str(actor.id)
    async with uow_factory() as uow:
        await uow.campaigns.lock_customer(ask.customer_id)
        earlier = await uow.campaigns.contact_by_key(client_id, ask.idempotency_key)
        if earlier is not None:
            if (earlier.campaign_id, earlier.customer_id, earlier.channel) != (
                ask.campaign_id,
                ask.customer_id,
                ask.channel,
            ):
                raise Conflict("this idempotency key was already used for another contact")
            return ContactRecorded(earlier, replayed=True)
        now = clock.now()
        facts = await uow.campaigns.facts([ask.customer_id], purpose, now, rules.complaint_cool_off)
        found = facts.get(ask.customer_id)
        if found is None or found.status is CustomerStatus.ERASED:
            # Same answer as for a customer without consent; nobody's data to log.
            raise NotContactable(anonymous_refusal(ask.customer_id, ask.channel, rules, now))
        decision = decide(found, ask.channel, rules, now)
        record = check_record(
            actor,
            ask.campaign_id,
            ask.channel,
            ask.customer_id,
            action=RECORD_ACTION,
            outcome=Outcome.ALLOWED if decision.contactable else Outcome.DENIED,
            request_id=request_id,
        )
        await uow.audit.append(record)
        if not decision.contactable:
            await uow.commit()  # the refusal read their data: it stays in their access log
            raise NotContactable(decision)
        contact = RecordedContact(
            id=uuid.uuid4(),
            customer_id=ask.customer_id,
            campaign_id=ask.campaign_id,
            channel=ask.channel,
            sent_at=now,
            client_id=client_id,
            idempotency_key=ask.idempotency_key,
        )
        await uow.campaigns.add_contact(contact)
        await uow.interactions.add_many([_interaction(contact)])
        await uow.commit()
    return ContactRecorded(contact, replayed=False)


def _interaction(contact: RecordedContact) -> Interaction:
    return Interaction(
        id=contact.id,
        customer_id=contact.customer_id,
        occurred_at=contact.sent_at,
        channel=_INTERACTION_CHANNELS[contact.channel],
        direction=InteractionDirection.OUTBOUND,
        kind=InteractionKind.MARKETING,
        summary=f"{_SUMMARIES[contact.channel]} from campaign {contact.campaign_id}",
        campaign=contact.campaign_id,
    )
