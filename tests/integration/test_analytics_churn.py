"""Churn, lifetime value and the figures withheld for small counts, from the real
projection on both engines: a known population with known leavers, asked over one month and
over two."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from analytics_seed import seed_population, set_analytics

from domain.analytics import queries
from domain.analytics.answers import Answer
from domain.analytics.attributes import add_months, month_of
from domain.analytics.disclosure import round_money
from domain.analytics.queries import Asker
from domain.analytics.value import lifetime_value
from domain.audit.events import Actor, ActorType
from domain.clock import SystemClock
from persistence.uow import SqlUnitOfWork

A = add_months(month_of(datetime.now(UTC)), -4)
B = add_months(A, 1)
MEMBERS = 60
# Every member was with us before A; 12 left in A, 20 more in B, before any of the seed's
# interactions (the last 33 days) took place.
LEAVING = {index: datetime.fromisoformat(f"{A}-15T12:00:00+00:00") for index in range(12)} | {
    index: datetime.fromisoformat(f"{B}-15T12:00:00+00:00") for index in range(12, 32)
}
ANALYST = Actor(ActorType.STAFF, "analyst-1", "console", "analyst")


@pytest.fixture
async def members(uow_factory: Callable[[], SqlUnitOfWork]) -> Callable[[], SqlUnitOfWork]:
    for customer_id in await seed_population(uow_factory, MEMBERS, leaving=LEAVING):
        await set_analytics(uow_factory, customer_id, granted=True)
    return uow_factory


async def flow(units: Callable[[], SqlUnitOfWork], first: str, last: str, *, k: int = 10) -> Answer:
    return await queries.customer_flow(
        units().reading(), SystemClock(), Asker(ANALYST, k), first, last, by="tier"
    )


async def mean_revenue(units: Callable[[], SqlUnitOfWork], first: str, last: str) -> Decimal:
    """What the lifetime value multiplies: the members' rounded revenue in `first`, each."""
    async with units().reading() as uow:
        cells = await uow.analytics.churn("tier", first, last)
    revenue = sum((c.sums["revenue"] for c in cells), Decimal(0))
    return round_money(revenue) / sum(c.customers for c in cells)


@pytest.mark.parametrize(
    ("first", "last", "lost", "start", "months", "published"),
    [
        (A, A, 12, 60, 1, "0.2000"),
        (B, B, 20, 48, 1, "0.4167"),
        # Two months: 32 of 60 left, 16 a month (not 32 a month, as one month would say).
        (A, B, 32, 60, 2, "0.2667"),
    ],
)
async def test_the_monthly_churn_rate_counts_every_month_of_the_window(
    members: Callable[[], SqlUnitOfWork],
    first: str,
    last: str,
    lost: int,
    start: int,
    months: int,
    published: str,
) -> None:
    answer = await flow(members, first, last)
    assert answer.facts["monthly_churn_rate"] == published
    monthly = lost / start / months
    mean = await mean_revenue(members, first, last)
    assert answer.facts["lifetime_value"] == str(lifetime_value(mean, monthly))


@pytest.mark.parametrize(
    ("first", "last", "k"),
    [
        (A, A, 13),  # 12 left
        (A, B, 29),  # 32 left, 28 stayed
        (add_months(B, 1), add_months(B, 1), 10),  # nobody left
    ],
)
async def test_facts_from_fewer_than_k_leavers_or_stayers_are_withheld(
    members: Callable[[], SqlUnitOfWork], first: str, last: str, k: int
) -> None:
    answer = await flow(members, first, last, k=k)
    assert answer.facts == {"monthly_churn_rate": None, "lifetime_value": None}
    assert (await flow(members, A, B, k=28)).facts["monthly_churn_rate"] == "0.2667"


async def test_means_and_rates_know_how_many_members_they_come_from(
    members: Callable[[], SqlUnitOfWork],
) -> None:
    # The 28 who stayed: each rated an email complaint 2 days ago and a phone complaint 9
    # days ago, and had a marketing call 33 days ago (the leavers had left by then).
    recent = month_of(datetime.now(UTC) - timedelta(days=2))
    first = add_months(recent, -2)
    async with members().reading() as uow:
        [rated] = await uow.analytics.segments(["age_band"], recent)
        contacts = await uow.analytics.experience("age_band", first, recent)
    assert (rated.customers, rated.sums["satisfaction_raters"]) == (28, 28)
    by_channel = {
        cell.key[0]: (cell.customers, cell.sums["complainers"], cell.sums["other_contacters"])
        for cell in contacts
    }
    assert by_channel == {"email": (28, 28, 0), "phone": (28, 28, 28)}

    answer = await queries.experience(
        members().reading(),
        SystemClock(),
        Asker(ANALYST, 10),
        first,
        recent,
        by="age_band",
    )
    rates = {
        cell.dimensions["contact_channel"]: cell.values["complaint_rate"]
        for cell in answer.tables[0].cells
    }
    # Email contacts are all complaints: 1.0000 would say that nobody had another.
    assert rates == {"email": None, "phone": "0.5000"}
