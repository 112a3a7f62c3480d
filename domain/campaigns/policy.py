"""The contact policy: may the organisation send this customer marketing now, and if not, why.

One pure function, `decide`, answers for every campaign, every channel and the privacy
officer alike, from facts gathered about the customer (`ContactFacts`), the customer's own
preferences and the organisation's rules (`ContactRules`). Reasons come in two kinds:
- blocks that only the customer can lift (no consent, a restriction, an objection, a pending
  erasure, a channel they turned off): no earliest time is given;
- waits that pass with time (frequency caps, a complaint's cool-off, quiet hours): the
  answer names the earliest moment every one of them has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from domain.campaigns.preferences import ContactPreferences
from domain.consent.purposes import CHANNEL_PURPOSES
from domain.customer.profile import CustomerStatus


class MarketingChannel(StrEnum):
    """A channel marketing is sent on."""

    EMAIL = "email"
    SMS = "sms"


class ReasonCode(StrEnum):
    """Why a customer may not be contacted (stable codes for campaign tools)."""

    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    RESTRICTED = "restricted"
    ERASED = "erased"
    OBJECTED = "objected"
    ERASURE_PENDING = "erasure_pending"
    CHANNEL_NOT_WANTED = "channel_not_wanted"
    WEEKLY_LIMIT = "weekly_limit"
    MONTHLY_LIMIT = "monthly_limit"
    COMPLAINT_COOL_OFF = "complaint_cool_off"
    QUIET_HOURS = "quiet_hours"


WAITS: frozenset[ReasonCode] = frozenset(
    {
        ReasonCode.WEEKLY_LIMIT,
        ReasonCode.MONTHLY_LIMIT,
        ReasonCode.COMPLAINT_COOL_OFF,
        ReasonCode.QUIET_HOURS,
    }
)
"""Reasons that pass with time; every other reason blocks until the customer acts."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason, as a code and a sentence a person can read."""

    code: ReasonCode
    message: str


@dataclass(frozen=True, slots=True)
class ContactRules:
    """The organisation's rules for every campaign and channel together."""

    weekly_limit: int = 2
    monthly_limit: int = 6
    complaint_cool_off: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        if self.weekly_limit < 1 or self.monthly_limit < self.weekly_limit:
            raise ValueError("limits must be at least 1, the monthly one at least the weekly")


WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
"""The frequency windows (rolling): 7 and 30 days ending now."""


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """The customer's latest decision for the channel's purpose."""

    granted: bool
    notice_version: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What the policy needs to know about one customer, gathered in one go.

    `contacts` are the times of marketing contacts recorded in the last 30 days on any
    channel by any campaign; `last_complaint` the newest complaint interaction, if recent.
    """

    customer_id: UUID
    status: CustomerStatus
    consent: ConsentFact | None = None
    objected_at: datetime | None = None
    erasure_pending: bool = False
    preferences: ContactPreferences = field(default_factory=ContactPreferences)
    contacts: tuple[datetime, ...] = ()
    last_complaint: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """The policy's answer for one customer, channel and moment."""

    customer_id: UUID
    channel: str
    purpose: str
    at: datetime
    reasons: tuple[Reason, ...]
    earliest_allowed_at: datetime | None
    contacts_last_week: int
    contacts_last_month: int
    weekly_limit: int
    monthly_limit: int

    @property
    def contactable(self) -> bool:
        """True when nothing stands in the way at `at`."""
        return not self.reasons

    @property
    def blocked(self) -> bool:
        """True when a reason will not pass with time (only the customer can lift it)."""
        return any(reason.code not in WAITS for reason in self.reasons)


class UnknownChannel(ValueError):
    """The channel is not a marketing channel (email or sms)."""


def purpose_of(channel: str) -> str:
    """The consent purpose that makes `channel` usable; UnknownChannel otherwise."""
    purpose = CHANNEL_PURPOSES.get(channel)
    if purpose is None:
        raise UnknownChannel(channel)
    return purpose


def _blocks(facts: ContactFacts, channel: str, purpose: str) -> list[Reason]:
    reasons: list[Reason] = []
    if facts.status is CustomerStatus.RESTRICTED:
        reasons.append(Reason(ReasonCode.RESTRICTED, "customer is restricted"))
    elif facts.status is CustomerStatus.ERASED:
        reasons.append(Reason(ReasonCode.ERASED, "customer is erased"))
    consent = facts.consent
    if consent is None:
        reasons.append(Reason(ReasonCode.NO_CONSENT, f"no consent to {purpose}"))
    elif not consent.granted:
        reasons.append(Reason(ReasonCode.CONSENT_WITHDRAWN, f"consent to {purpose} withdrawn"))
    # An objection stands until the customer grants the channel's consent again after it.
    if facts.objected_at is not None and (
        consent is None or not consent.granted or consent.recorded_at <= facts.objected_at
    ):
        reasons.append(Reason(ReasonCode.OBJECTED, "customer objected to direct marketing"))
    if facts.erasure_pending:
        reasons.append(Reason(ReasonCode.ERASURE_PENDING, "customer asked for erasure"))
    if channel not in facts.preferences.channels:
        reasons.append(
            Reason(ReasonCode.CHANNEL_NOT_WANTED, f"customer does not want marketing by {channel}")
        )
    return reasons


def _cap_ends(
    contacts: Sequence[datetime], now: datetime, window: timedelta, limit: int
) -> datetime | None:
    """When the count of contacts in the rolling window drops below `limit` (None: it is
    below already). Contacts leave the window `window` after they were made."""
    inside = sorted(c for c in contacts if now - window < c <= now)
    if len(inside) < limit:
        return None
    # Once the oldest (len - limit + 1) contacts have left, fewer than `limit` remain.
    return inside[len(inside) - limit] + window


def decide(
    facts: ContactFacts, channel: str, rules: ContactRules, now: datetime
) -> ContactDecision:
    """The answer for `facts` on `channel` at `now`: every reason that applies, and, when
    only waits apply, the earliest moment all of them have passed (None otherwise, and None
    when contactable now). UnknownChannel for a channel that is not email or sms."""
    purpose = purpose_of(channel)
    preferences = facts.preferences
    weekly = min(rules.weekly_limit, preferences.weekly_limit or rules.weekly_limit)
    monthly = min(rules.monthly_limit, preferences.monthly_limit or rules.monthly_limit)
    reasons = _blocks(facts, channel, purpose)
    waits: list[datetime] = []
    week_count = sum(1 for c in facts.contacts if now - WEEK < c <= now)
    month_count = sum(1 for c in facts.contacts if now - MONTH < c <= now)
    week_end = _cap_ends(facts.contacts, now, WEEK, weekly)
    if week_end is not None:
        whose = "the customer's" if weekly < rules.weekly_limit else "the organisation's"
        reasons.append(
            Reason(
                ReasonCode.WEEKLY_LIMIT,
                f"{week_count} marketing contacts in the last 7 days ({whose} limit is {weekly})",
            )
        )
        waits.append(week_end)
    month_end = _cap_ends(facts.contacts, now, MONTH, monthly)
    if month_end is not None:
        whose = "the customer's" if monthly < rules.monthly_limit else "the organisation's"
        reasons.append(
            Reason(
                ReasonCode.MONTHLY_LIMIT,
                f"{month_count} marketing contacts in the last 30 days ({whose} limit is "
                f"{monthly})",
            )
        )
        waits.append(month_end)
    if facts.last_complaint is not None:
        cool_off_end = facts.last_complaint + rules.complaint_cool_off
        if cool_off_end > now:
            days = rules.complaint_cool_off.days
            reasons.append(
                Reason(
                    ReasonCode.COMPLAINT_COOL_OFF,
                    f"a complaint in the last {days} days: no marketing until it is {days} "
                    "days old",
                )
            )
            waits.append(cool_off_end)
    earliest = max([now, *waits])
    quiet = preferences.quiet_hours
    if quiet is not None:
        if quiet.end_of_quiet(now) is not None:
            reasons.append(Reason(ReasonCode.QUIET_HOURS, "within the customer's quiet hours"))
        # The first moment every wait has passed may itself fall in quiet hours.
        earliest = quiet.end_of_quiet(earliest) or earliest
    blocked = any(reason.code not in WAITS for reason in reasons)
    return ContactDecision(
        customer_id=facts.customer_id,
        channel=channel,
        purpose=purpose,
        at=now,
        reasons=tuple(reasons),
        earliest_allowed_at=None if blocked or not reasons else earliest,
        contacts_last_week=week_count,
        contacts_last_month=month_count,
        weekly_limit=weekly,
        monthly_limit=monthly,
    )
