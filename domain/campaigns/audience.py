"""A campaign asks, for a batch of customers, whom it may contact on a channel now.

The campaign tool learns yes or no, the reasons and the earliest allowed time: never a name,
an email address or a phone number. Each customer whose data was read gets an event in
their access log ("campaign X checked whether it may email you"); the events of one batch
are committed together (group commit) before the answer is sent.

An id Custodian does not know, and a customer whose data was erased, are answered exactly
like a customer who never consented: not contactable, reason `no_consent`. So a campaign
tool cannot learn from the answer whether an id belongs to a customer. Nothing is added to
any access log for such an id, since no one's data was read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

from domain.audit.events import Actor, AuditRecord, Outcome
from domain.campaigns.policy import (
    ContactDecision,
    ContactFacts,
    ContactRules,
    ReasonCode,
    decide,
    purpose_of,
)
from domain.campaigns.ports import CampaignUnitOfWork
from domain.clock import Clock
from domain.customer.profile import CustomerStatus
from domain.errors import InvalidValue

MAX_AUDIENCE = 1000
"""Customers per audience check at most: bounds one request's queries and audit batch."""

CHECK_ACTION = "campaign.audience_check"
CAMPAIGN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
"""Campaign ids: short codes chosen by the campaign tool (they appear in access logs)."""


def campaign_purpose(campaign_id: str) -> str:
    """The audit purpose naming the campaign; InvalidValue for a malformed campaign id."""
    if CAMPAIGN_ID.fullmatch(campaign_id) is None:
        raise InvalidValue("campaign_id", "1 to 50 letters, digits, '.', '_' or '-'")
    return f"campaign:{campaign_id}"


def check_record(
    actor: Actor,
    campaign_id: str,
    channel: str,
    customer_id: UUID,
    *,
    action: str = CHECK_ACTION,
    outcome: Outcome = Outcome.ALLOWED,
    request_id: str | None = None,
) -> AuditRecord:
    """The access-log event of one customer's data read for one campaign."""
    return AuditRecord(
        actor,
        action,
        "contactability",
        outcome=outcome,
        subject_id=customer_id,
        resource_id=channel,
        fields=("status", "consent", "contact_preferences", "contacts", "complaints"),
        purpose=campaign_purpose(campaign_id),
        request_id=request_id,
    )


def anonymous_refusal(
    customer_id: UUID, channel: str, rules: ContactRules, now: datetime
) -> ContactDecision:
    """The answer for an unknown (or erased) id: the same as for a customer without consent."""
    facts = ContactFacts(customer_id=customer_id, status=CustomerStatus.ACTIVE)
    return decide(facts, channel, rules, now)


def _hide_erasure(decision: ContactDecision, rules: ContactRules) -> ContactDecision:
    if not any(r.code is ReasonCode.ERASED for r in decision.reasons):
        return decision
    return anonymous_refusal(decision.customer_id, decision.channel, rules, decision.at)


async def check_audience(
    uow_factory: Callable[[], CampaignUnitOfWork],
    clock: Clock,
    rules: ContactRules,
    actor: Actor,
    *,
    campaign_id: str,
    channel: str,
    customer_ids: Sequence[UUID],
    request_id: str | None = None,
) -> list[ContactDecision]:
    """One answer per id, in the order asked (duplicates answered once each time asked).

    InvalidValue for a malformed campaign id, an unknown channel, an empty batch or one
    over MAX_AUDIENCE. Returns after every access-log event is durable.
    """
    campaign_purpose(campaign_id)
    try:
        purpose = purpose_of(channel)
    except ValueError:
        raise InvalidValue("channel", "must be email or sms") from None
    if not 1 <= len(customer_ids) <= MAX_AUDIENCE:
        raise InvalidValue("customer_ids", f"between 1 and {MAX_AUDIENCE} ids")
    now = clock.now()
    uow = uow_factory().reading()
    async with uow:
        facts = await uow.campaigns.facts(customer_ids, purpose, now, rules.complaint_cool_off)
    decisions = {
        customer_id: _hide_erasure(decide(found, channel, rules, now), rules)
        for customer_id, found in facts.items()
    }
    # Customers whose data was read; erased ones were read too (their status), so they
    # are listed; their access log is still kept as evidence.
    records = [
        check_record(actor, campaign_id, channel, customer_id, request_id=request_id)
        for customer_id in facts
    ]
    # Queued together, the records share the group commit's transactions (up to its batch
    # size each) instead of one transaction per customer.
    await asyncio.gather(*(uow.audit_trail.record(record) for record in records))
    return [
        decisions.get(customer_id) or anonymous_refusal(customer_id, channel, rules, now)
        for customer_id in customer_ids
    ]
