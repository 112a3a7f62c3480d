"""Churn and lifetime value from the real projection, on both engines: a known population
with known leavers, asked over one month and over two."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
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

A = add_months(month_of(datetime.now(UTC)), -3)
B = add_months(A, 1)
MEMBERS = 60
# Every member was with us before A; 12 left in A, 20 more in B.
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
