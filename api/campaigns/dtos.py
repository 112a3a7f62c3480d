"""Bodies of the campaign API and of the contact-preferences routes, and what they share."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec

from api.settings import Settings
from domain.campaigns.audience import MAX_AUDIENCE
from domain.campaigns.policy import ContactDecision, ContactRules, MarketingChannel

CAMPAIGNS_TAG = "campaigns"


def contact_rules(settings: Settings) -> ContactRules:
    """The organisation's contact rules from the settings."""
    return ContactRules(
        weekly_limit=settings.marketing_weekly_limit,
        monthly_limit=settings.marketing_monthly_limit,
        complaint_cool_off=timedelta(days=settings.complaint_cool_off_days),
    )


class RefusalReason(msgspec.Struct):
    """Why not: a stable code and a sentence."""

    code: str
    message: str


class ChannelAnswer(msgspec.Struct):
    """The policy's answer for one customer on one channel now."""

    customer_id: UUID
    contactable: bool
    reasons: list[RefusalReason]
    earliest_allowed_at: datetime | None


def answer_out(decision: ContactDecision) -> ChannelAnswer:
    """The answer as sent: yes or no, why, and from when (never a name or an address)."""
    return ChannelAnswer(
        customer_id=decision.customer_id,
        contactable=decision.contactable,
        reasons=[RefusalReason(r.code.value, r.message) for r in decision.reasons],
        earliest_allowed_at=decision.earliest_allowed_at,
    )


class AudienceCheckRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Which customers, on which channel."""

    channel: MarketingChannel
    customer_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=MAX_AUDIENCE)]


class AudienceCheck(msgspec.Struct):
    """One answer per id asked, in the order asked."""

    campaign_id: str
    channel: str
    checked_at: datetime
    items: list[ChannelAnswer]


class SentContact(msgspec.Struct, forbid_unknown_fields=True):
    """A contact the campaign tool sent; the key makes retries safe."""

    customer_id: UUID
    channel: MarketingChannel
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Contact(msgspec.Struct):
    """A recorded contact."""

    id: UUID
    campaign_id: str
    customer_id: UUID
    channel: str
    sent_at: datetime
    idempotency_key: str


_HHMM = msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class QuietHours(msgspec.Struct, forbid_unknown_fields=True):
    """A daily period without marketing, in local time (may span midnight)."""

    start: Annotated[str, _HHMM]
    end: Annotated[str, _HHMM]
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"


class ContactPreferencesUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """The whole preferences document (PUT replaces it)."""

    channels: Annotated[list[MarketingChannel], msgspec.Meta(max_length=2)]
    quiet_hours: QuietHours | None = None
    weekly_limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    monthly_limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class OrganisationLimits(msgspec.Struct):
    """The organisation's rules, for every campaign and channel together."""

    weekly_limit: int
    monthly_limit: int
    complaint_cool_off_days: int


class RecentContact(msgspec.Struct):
    """A marketing contact of the last 30 days."""

    campaign_id: str
    channel: str
    sent_at: datetime


class ChannelStatus(msgspec.Struct):
    """What a campaign would be told now about this channel."""

    channel: str
    contactable: bool
    reasons: list[RefusalReason]
    earliest_allowed_at: datetime | None


class ContactStatus(msgspec.Struct):
    """How many marketing contacts in the windows, the limits that apply, per channel now."""

    contacts_last_7_days: int
    contacts_last_30_days: int
    weekly_limit: int
    monthly_limit: int
    next_allowed_at: datetime | None
    channels: list[ChannelStatus]
    recent_contacts: list[RecentContact]


class ContactPreferences(msgspec.Struct):
    """The customer's preferences (version = ETag), the organisation's limits, the status."""

    channels: list[str]
    quiet_hours: QuietHours | None
    weekly_limit: int | None
    monthly_limit: int | None
    version: int
    updated_at: datetime | None
    organisation_limits: OrganisationLimits
    status: ContactStatus


# The bodies refuse unknown members; the document must say so.
CLOSED: dict[str, Any] = {"additionalProperties": False}
