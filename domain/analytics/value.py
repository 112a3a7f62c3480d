"""The value model: estimated monthly revenue, value tiers and customer lifetime value.

    revenue(month) = fees(month) + sum over accounts of |balance at month end| x margin(type) / 12
    tier           = the first of platinum, gold, silver whose fixed threshold revenue reaches,
                     otherwise bronze (thresholds, not quantiles: a tier means the same
                     amount in every month, so movement between tiers is real movement)
    CLV            = mean monthly revenue x expected tenure in months, where expected
                     tenure = 1 / monthly churn rate (observed), capped at MAX_TENURE_MONTHS

Margins are annual net interest margins the organisation earns on each kind of balance: on
deposits (current, savings) it lends the money on, on credit (card, loan) it charges more
than its funding costs. Fees are the plan fees customers pay (category `fees`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

ANNUAL_MARGIN: dict[str, Decimal] = {
    "current": Decimal("0.020"),
    "savings": Decimal("0.012"),
    "credit_card": Decimal("0.120"),
    "loan": Decimal("0.035"),
    "subscription": Decimal(0),
    "loyalty": Decimal(0),
}
"""Annual interest margin per account type, on the absolute month-end balance."""

FEE_CATEGORIES: frozenset[str] = frozenset({"fees"})
"""Transaction categories that are revenue (debits the customer pays the organisation)."""

MAX_TENURE_MONTHS = 120
"""Cap on expected tenure, so a month without churn does not make CLV infinite."""

_CENT = Decimal("0.01")


class Tier(StrEnum):
    """Value tiers by fixed thresholds of estimated monthly revenue."""

    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"


TIER_THRESHOLDS: tuple[tuple[Decimal, Tier], ...] = (
    (Decimal(60), Tier.PLATINUM),
    (Decimal(25), Tier.GOLD),
    (Decimal(10), Tier.SILVER),
)
"""Monthly revenue at or above which a customer is in the tier (else bronze)."""

TIER_ORDER: tuple[Tier, ...] = (Tier.PLATINUM, Tier.GOLD, Tier.SILVER, Tier.BRONZE)


def monthly_revenue(fees: Decimal, balances: Iterable[tuple[str, Decimal]]) -> Decimal:
    """Estimated revenue of one customer in one month, to the cent: `fees` plus the
    monthly interest margin on each (account type, month-end balance)."""
    margin = sum(
        (abs(balance) * ANNUAL_MARGIN.get(kind, Decimal(0)) / 12 for kind, balance in balances),
        Decimal(0),
    )
    return (fees + margin).quantize(_CENT)


def tier_of(revenue: Decimal) -> Tier:
    """The value tier of a monthly revenue."""
    for threshold, tier in TIER_THRESHOLDS:
        if revenue >= threshold:
            return tier
    return Tier.BRONZE


def expected_tenure_months(monthly_churn_rate: float) -> float:
    """1 / churn rate, capped at MAX_TENURE_MONTHS (and for a rate of zero)."""
    if monthly_churn_rate <= 0:
        return float(MAX_TENURE_MONTHS)
    return min(1 / monthly_churn_rate, float(MAX_TENURE_MONTHS))


def lifetime_value(mean_monthly_revenue: Decimal, monthly_churn_rate: float) -> Decimal:
    """Simple CLV: mean monthly revenue times expected tenure, to the cent."""
    months = Decimal(str(expected_tenure_months(monthly_churn_rate)))
    return (mean_monthly_revenue * months).quantize(_CENT)
