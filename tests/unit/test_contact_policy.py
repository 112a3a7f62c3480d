"""The contact policy: every reason, and the earliest time when only waits stand in the way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from domain.campaigns.policy import (
    ConsentFact,
    ContactFacts,
    ContactRules,
    ReasonCode,
    UnknownChannel,
    decide,
)
from domain.campaigns.preferences import ContactPreferences, QuietHours, validated_preferences
from domain.customer.profile import CustomerStatus
from domain.errors import ValidationFailed

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
RULES = ContactRules(weekly_limit=2, monthly_limit=6, complaint_cool_off=timedelta(days=14))
GRANTED = ConsentFact(True, "1", NOW - timedelta(days=100))


def facts(**changes: object) -> ContactFacts:
    base: dict[str, object] = {
        "customer_id": uuid.uuid4(),
        "status": CustomerStatus.ACTIVE,
        "consent": GRANTED,
    }
    base.update(changes)
    return ContactFacts(**base)  # type: ignore[arg-type]


def codes(f: ContactFacts, channel: str = "email", now: datetime = NOW) -> list[ReasonCode]:
    return [r.code for r in decide(f, channel, RULES, now).reasons]


def test_consented_active_customer_is_contactable() -> None:
    answer = decide(facts(), "email", RULES, NOW)
    assert answer.contactable
    assert answer.reasons == ()
    assert answer.earliest_allowed_at is None
    assert answer.purpose == "marketing_email"


def test_blocks_that_only_the_customer_can_lift_have_no_earliest_time() -> None:
    assert codes(facts(consent=None)) == [ReasonCode.NO_CONSENT]
    withdrawn = ConsentFact(False, "1", NOW - timedelta(days=1))
    assert codes(facts(consent=withdrawn)) == [ReasonCode.CONSENT_WITHDRAWN]
    assert codes(facts(status=CustomerStatus.RESTRICTED)) == [ReasonCode.RESTRICTED]
    assert codes(facts(erasure_pending=True)) == [ReasonCode.ERASURE_PENDING]
    no_email = ContactPreferences(channels=frozenset({"sms"}))
    assert codes(facts(preferences=no_email)) == [ReasonCode.CHANNEL_NOT_WANTED]
    assert codes(facts(preferences=no_email), "sms") == []
    answer = decide(facts(status=CustomerStatus.RESTRICTED), "email", RULES, NOW)
    assert answer.blocked
    assert answer.earliest_allowed_at is None
    assert answer.reasons[0].message == "customer is restricted"


def test_an_objection_stands_until_consent_is_granted_again_after_it() -> None:
    objected = NOW - timedelta(days=5)
    assert ReasonCode.OBJECTED in codes(facts(objected_at=objected))
    regranted = ConsentFact(True, "1", NOW - timedelta(days=1))
    assert codes(facts(objected_at=objected, consent=regranted)) == []


def test_weekly_cap_counts_every_campaign_and_channel_and_names_when_it_lifts() -> None:
    first, second = NOW - timedelta(days=6), NOW - timedelta(days=2)
    answer = decide(facts(contacts=(first, second)), "sms", RULES, NOW)
    assert [r.code for r in answer.reasons] == [ReasonCode.WEEKLY_LIMIT]
    assert answer.contacts_last_week == 2
    # The oldest of the two leaves the 7-day window first.
    assert answer.earliest_allowed_at == first + timedelta(days=7)
    later = decide(facts(contacts=(first, second)), "sms", RULES, first + timedelta(days=7))
    assert later.contactable


def test_monthly_cap_and_the_later_of_two_waits() -> None:
    contacts = tuple(NOW - timedelta(days=d) for d in (29, 25, 20, 15, 10, 3))
    answer = decide(facts(contacts=contacts), "email", RULES, NOW)
    assert [r.code for r in answer.reasons] == [ReasonCode.MONTHLY_LIMIT]
    assert answer.earliest_allowed_at == NOW - timedelta(days=29) + timedelta(days=30)
    # Two this week as well: the week lifts in 5 days, the month in 1; the later wins.
    both = (*contacts, NOW - timedelta(days=2))
    answer = decide(facts(contacts=both), "email", RULES, NOW)
    assert {r.code for r in answer.reasons} == {ReasonCode.WEEKLY_LIMIT, ReasonCode.MONTHLY_LIMIT}
    assert answer.earliest_allowed_at == NOW - timedelta(days=2) + timedelta(days=7)


def test_a_customer_may_ask_for_fewer_contacts_than_the_organisation_allows() -> None:
    once = ContactPreferences(weekly_limit=1)
    answer = decide(
        facts(preferences=once, contacts=(NOW - timedelta(days=1),)), "email", RULES, NOW
    )
    assert [r.code for r in answer.reasons] == [ReasonCode.WEEKLY_LIMIT]
    assert "the customer's limit is 1" in answer.reasons[0].message
    assert answer.weekly_limit == 1


def test_complaint_cool_off() -> None:
    complaint = NOW - timedelta(days=3)
    answer = decide(facts(last_complaint=complaint), "email", RULES, NOW)
    assert [r.code for r in answer.reasons] == [ReasonCode.COMPLAINT_COOL_OFF]
    assert answer.earliest_allowed_at == complaint + timedelta(days=14)
    assert codes(facts(last_complaint=NOW - timedelta(days=15))) == []


def test_quiet_hours_across_midnight_in_the_customers_time_zone() -> None:
    quiet = QuietHours(time(21, 0), time(8, 0), "Europe/Amsterdam")  # UTC+1 in March
    night = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
    answer = decide(facts(preferences=ContactPreferences(quiet_hours=quiet)), "email", RULES, night)
    assert [r.code for r in answer.reasons] == [ReasonCode.QUIET_HOURS]
    assert answer.earliest_allowed_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    assert codes(facts(preferences=ContactPreferences(quiet_hours=quiet))) == []  # 13:00 local


def test_a_cap_ending_in_quiet_hours_moves_to_their_end() -> None:
    quiet = QuietHours(time(21, 0), time(8, 0), "UTC")
    first = datetime(2026, 3, 4, 23, 0, tzinfo=UTC)  # leaves the week at 23:00 on the 11th
    f = facts(preferences=ContactPreferences(quiet_hours=quiet), contacts=(first, NOW))
    answer = decide(f, "email", RULES, NOW)
    assert [r.code for r in answer.reasons] == [ReasonCode.WEEKLY_LIMIT]
    assert answer.earliest_allowed_at == datetime(2026, 3, 12, 8, 0, tzinfo=UTC)


def test_blocks_and_waits_together_give_no_earliest_time() -> None:
    answer = decide(facts(consent=None, contacts=(NOW, NOW)), "email", RULES, NOW)
    assert {r.code for r in answer.reasons} == {ReasonCode.NO_CONSENT, ReasonCode.WEEKLY_LIMIT}
    assert answer.earliest_allowed_at is None


def test_unknown_channel() -> None:
    with pytest.raises(UnknownChannel):
        decide(facts(), "pigeon", RULES, NOW)


def test_preferences_validation_names_each_bad_field() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validated_preferences(
            channels=["email", "fax"],
            quiet_hours=("25:00", "08:00", "Mars/Olympus"),
            weekly_limit=3,
            monthly_limit=0,
            org_weekly=2,
            org_monthly=6,
        )
    assert set(raised.value.problems) == {
        "channels",
        "quiet_hours",
        "weekly_limit",
        "monthly_limit",
    }
    good = validated_preferences(
        channels=["sms"],
        quiet_hours=("21:30", "07:00", "Europe/Lisbon"),
        weekly_limit=1,
        monthly_limit=None,
        org_weekly=2,
        org_monthly=6,
    )
    assert good.channels == frozenset({"sms"})
    assert good.quiet_hours == QuietHours(time(21, 30), time(7, 0), "Europe/Lisbon")
