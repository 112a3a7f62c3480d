"""Turn one customer's source records into their projection rows (a pure function).

The caller reads and decrypts only what this needs: birth date and country (for the age
band and country), account types, balances and dates, the amounts, categories and dates of
the window's transactions, the codes of the window's interactions, and when referred
customers joined. Nothing else enters, and nothing that enters leaves except as bands,
codes, counts and monthly sums.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from domain.analytics.attributes import (
    CoarseAttributes,
    add_months,
    age_band,
    balance_band,
    month_of,
    months_between,
    tenure_band,
)
from domain.analytics.value import FEE_CATEGORIES, monthly_revenue, tier_of

WINDOW_MONTHS = 24
"""How many calendar months of facts the projection keeps (the current one included)."""


@dataclass(frozen=True, slots=True)
class SourceAccount:
    """An account as the projection needs it."""

    id: UUID
    type: str
    opened_at: datetime
    closed_at: datetime | None
    balance: Decimal


@dataclass(frozen=True, slots=True)
class SourceTransaction:
    """A booked transaction of the window: signed amount (credit positive)."""

    account_id: UUID
    booked_at: datetime
    amount: Decimal
    category: str


@dataclass(frozen=True, slots=True)
class SourceContact:
    """An interaction of the window, codes only."""

    occurred_at: datetime
    channel: str
    kind: str
    direction: str
    satisfaction: int | None


@dataclass(slots=True)
class CustomerSource:
    """Everything read about one customer to project them."""

    customer_id: UUID
    created_at: datetime
    acquisition_channel: str
    referred: bool
    date_of_birth: date | None
    country: str | None
    accounts: list[SourceAccount] = field(default_factory=list)
    transactions: list[SourceTransaction] = field(default_factory=list)
    contacts: list[SourceContact] = field(default_factory=list)
    referrals: list[datetime] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MonthFacts:
    """One month of one member."""

    month: str
    tier: str
    balance_band: str
    revenue: Decimal
    transactions: int
    transaction_value: Decimal
    marketing_contacts: int
    referrals_made: int


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """One month of one member's contacts on one channel."""

    month: str
    channel: str
    contacts: int
    complaints: int
    satisfaction_sum: int
    satisfaction_n: int
    tier: str
    balance_band: str


@dataclass(frozen=True, slots=True)
class Projected:
    """A member's projection: attributes, lifecycle months and monthly facts."""

    attributes: CoarseAttributes
    joined_month: str
    left_month: str | None
    referred: bool
    referrals_made: int
    months: list[MonthFacts]
    channels: list[ChannelFacts]


def window_start(as_of: date) -> str:
    """The first month of the facts window ending with `as_of`'s month."""
    return add_months(month_of(as_of), -(WINDOW_MONTHS - 1))


def left_month(accounts: list[SourceAccount]) -> str | None:
    """When the customer left: the month their last account closed, if all are closed."""
    if not accounts or any(a.closed_at is None for a in accounts):
        return None
    return month_of(max(a.closed_at for a in accounts if a.closed_at is not None))


def project_customer(source: CustomerSource, as_of: date) -> Projected:
    """The customer's projection rows as of `as_of` (see the module docstring)."""
    current = month_of(as_of)
    first = max(window_start(as_of), month_of(source.created_at))
    left = left_month(source.accounts)
    last = min(current, left) if left else current
    attributes = CoarseAttributes(
        age_band=age_band(source.date_of_birth, as_of) if source.date_of_birth else "unknown",
        country=source.country or "??",
        channel=source.acquisition_channel,
        tenure_band=tenure_band(max(months_between(month_of(source.created_at), last), 0)),
        products=sum(1 for a in source.accounts if a.closed_at is None) or len(source.accounts),
    )
    months = [add_months(first, i) for i in range(max(months_between(first, last) + 1, 0))]
    facts = _month_facts(source, months)
    return Projected(
        attributes=attributes,
        joined_month=month_of(source.created_at),
        left_month=left,
        referred=source.referred,
        referrals_made=len(source.referrals),
        months=facts,
        channels=_channel_facts(source, {f.month: f for f in facts}),
    )


def _month_facts(source: CustomerSource, months: list[str]) -> list[MonthFacts]:
    fees: dict[str, Decimal] = defaultdict(Decimal)
    count: dict[str, int] = defaultdict(int)
    value: dict[str, Decimal] = defaultdict(Decimal)
    # Net movement booked after each month on each account, to walk balances back in time.
    moved: dict[tuple[UUID, str], Decimal] = defaultdict(Decimal)
    for t in source.transactions:
        month = month_of(t.booked_at)
        count[month] += 1
        value[month] += abs(t.amount)
        moved[t.account_id, month] += t.amount
        if t.category in FEE_CATEGORIES:
            fees[month] -= t.amount  # a fee debit (negative) is revenue; a refund is not
    marketing: dict[str, int] = defaultdict(int)
    for c in source.contacts:
        if c.kind == "marketing":
            marketing[month_of(c.occurred_at)] += 1
    referred: dict[str, int] = defaultdict(int)
    for joined in source.referrals:
        referred[month_of(joined)] += 1
    balances = {a.id: a.balance for a in source.accounts}
    facts: list[MonthFacts] = []
    for month in reversed(months):  # newest first: undo later movements as we go back
        held = [
            (a.type, balances[a.id])
            for a in source.accounts
            if month_of(a.opened_at) <= month
            and (a.closed_at is None or month_of(a.closed_at) >= month)
        ]
        revenue = monthly_revenue(max(fees[month], Decimal(0)), held)
        total = sum((b for _, b in held), Decimal(0))
        facts.append(
            MonthFacts(
                month=month,
                tier=tier_of(revenue).value,
                balance_band=balance_band(total),
                revenue=revenue,
                transactions=count[month],
                transaction_value=value[month].quantize(Decimal("0.01")),
                marketing_contacts=marketing[month],
                referrals_made=referred[month],
            )
        )
        for account in source.accounts:
            balances[account.id] -= moved[account.id, month]
    facts.reverse()
    return facts


def _channel_facts(source: CustomerSource, months: dict[str, MonthFacts]) -> list[ChannelFacts]:
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for c in source.contacts:
        month = month_of(c.occurred_at)
        if month not in months:
            continue
        entry = sums[month, c.channel]
        entry[0] += 1
        entry[1] += c.kind == "complaint"
        if c.satisfaction is not None:
            entry[2] += c.satisfaction
            entry[3] += 1
    return [
        ChannelFacts(
            month,
            channel,
            contacts=entry[0],
            complaints=entry[1],
            satisfaction_sum=entry[2],
            satisfaction_n=entry[3],
            tier=months[month].tier,
            balance_band=months[month].balance_band,
        )
        for (month, channel), entry in sorted(sums.items())
    ]
