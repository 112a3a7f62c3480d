"""The projection's coarse attributes, pseudonyms, value model and membership rule."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.analytics.attributes import (
    add_months,
    age_band,
    balance_band,
    month_of,
    months_between,
    pseudonym,
    tenure_band,
)
from domain.analytics.membership import MembershipFacts, is_member
from domain.analytics.value import (
    MAX_TENURE_MONTHS,
    Tier,
    lifetime_value,
    monthly_revenue,
    tier_of,
)

KEY = bytes(range(32))


def test_pseudonym_is_stable_per_key_and_unlinkable_across_keys() -> None:
    customer = uuid.uuid4()
    assert pseudonym(KEY, customer) == pseudonym(KEY, customer)
    assert pseudonym(KEY, customer) != pseudonym(bytes(32), customer)
    assert pseudonym(KEY, customer) != pseudonym(KEY, uuid.uuid4())
    assert str(customer).replace("-", "") not in pseudonym(KEY, customer)
    with pytest.raises(ValueError, match="32 bytes"):
        pseudonym(b"short", customer)


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (date(2008, 6, 1), "18-29"),
        (date(1997, 1, 1), "18-29"),
        (date(1996, 1, 1), "30-39"),
        (date(1976, 6, 2), "40-49"),  # turns 50 the day after
        (date(1976, 6, 1), "50-59"),
        (date(1930, 1, 1), "80+"),
    ],
)
def test_age_is_a_ten_year_band(born: date, band: str) -> None:
    assert age_band(born, date(2026, 6, 1)) == band


def test_bands_and_months() -> None:
    assert [tenure_band(m) for m in (0, 11, 12, 40, 119, 500)] == [
        "<1y",
        "<1y",
        "1-3y",
        "3-5y",
        "5-10y",
        "10y+",
    ]
    assert [balance_band(Decimal(v)) for v in ("-1", "0", "999.99", "12000", "60000")] == [
        "negative",
        "0-1k",
        "0-1k",
        "10k-50k",
        "50k+",
    ]
    assert month_of(datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == "2026-03"
    assert months_between("2025-11", "2026-02") == 3
    assert add_months("2025-11", 3) == "2026-02"
    assert add_months("2026-01", -1) == "2025-12"


def test_revenue_is_fees_plus_interest_margin_and_sets_the_tier() -> None:
    # 9.99 fees + 12,000 savings at 1.2 %/12 (12.00) + 1,500 card debt at 12 %/12 (15.00)
    revenue = monthly_revenue(
        Decimal("9.99"), [("savings", Decimal(12_000)), ("credit_card", Decimal(-1_500))]
    )
    assert revenue == Decimal("36.99")
    assert tier_of(revenue) is Tier.GOLD
    assert tier_of(Decimal(60)) is Tier.PLATINUM
    assert tier_of(Decimal("59.99")) is Tier.GOLD
    assert tier_of(Decimal("24.99")) is Tier.SILVER
    assert tier_of(Decimal("9.99")) is Tier.BRONZE
    assert monthly_revenue(Decimal(0), [("loyalty", Decimal(500))]) == Decimal("0.00")


def test_lifetime_value_is_margin_times_expected_tenure() -> None:
    assert lifetime_value(Decimal(20), 0.02) == Decimal("1000.00")  # 50 months
    assert lifetime_value(Decimal(20), 0.0) == Decimal(20 * MAX_TENURE_MONTHS)
    assert lifetime_value(Decimal(20), 0.001) == Decimal(20 * MAX_TENURE_MONTHS)


GRANTED = datetime(2026, 1, 10, tzinfo=UTC)


def _facts(**changes: object) -> MembershipFacts:
    base: dict[str, object] = {
        "status": "active",
        "consent_granted": True,
        "consent_notice_version": "2026-01",
        "current_notice_version": "2026-01",
        "granted_at": GRANTED,
        "objected_at": None,
        "erasure_pending": False,
    }
    base.update(changes)
    return MembershipFacts(**base)  # type: ignore[arg-type]


def test_membership_needs_a_current_grant_an_active_status_and_nothing_pending() -> None:
    assert is_member(_facts())
    assert not is_member(_facts(consent_granted=False))
    assert not is_member(_facts(granted_at=None))
    assert not is_member(_facts(current_notice_version="2026-06"))
    assert not is_member(_facts(status="restricted"))
    assert not is_member(_facts(status="erased"))
    assert not is_member(_facts(erasure_pending=True))
    assert not is_member(_facts(objected_at=datetime(2026, 2, 1, tzinfo=UTC)))
    # A new grant after an objection readmits the customer.
    assert is_member(_facts(objected_at=datetime(2025, 12, 1, tzinfo=UTC)))
