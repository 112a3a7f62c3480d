"""The hot reads use their indexes as built for them, on both engines: a page of an
account's transactions walks an index in order and stops after the page, instead of
sorting every row of the account first."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import persistence_samples as samples
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.customer.accounts import _page_query
from persistence.uow import SqlUnitOfWork

# Enough rows that sorting them costs more than walking an index.
BUSY_ACCOUNT = 2_000


@pytest.mark.parametrize(
    "filters",
    [{}, {"before": True}, {"booked_from": True, "booked_to": True}, {"status": True}],
    ids=["first page", "next page", "time range", "status"],
)
async def test_a_page_of_transactions_walks_the_index_without_sorting(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], filters: dict[str, bool]
) -> None:
    customer, other = samples.customer(), samples.customer()
    mine, theirs = samples.account(customer.id), samples.account(other.id)
    async with uow_factory() as uow:
        for who, account in ((customer, mine), (other, theirs)):
            await uow.customers.add(who, samples.profile(who.id))
            await uow.accounts.add(account)
            await uow.transactions.add_many(
                [
                    samples.transaction(account, booked_at=samples.T0 + samples.hours(n))
                    for n in range(BUSY_ACCOUNT)
                ]
            )
        await uow.commit()

    plan = await _plan(engine, filters, customer.id, mine.id)

    assert "ix_transactions_customer_id_account_id_booked_at_id" in plan, plan
    assert "Sort" not in plan, plan  # PostgreSQL
    assert "TEMP B-TREE" not in plan, plan  # SQLite


async def _plan(
    engine: AsyncEngine, filters: dict[str, bool], customer: UUID, account: UUID
) -> str:
    """The plan the database chooses for the page statement with these filters, as text."""
    flags = dict.fromkeys(("before", "booked_from", "booked_to", "status"), False) | filters
    statement = _page_query(**flags).params(
        customer_id=customer,
        account_id=account,
        limit=51,
        before_at=samples.T0 + samples.hours(1_000),
        before_id=account,
        booked_from=samples.T0,
        booked_to=samples.T0 + samples.hours(1_500),
        status="booked",
    )
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        rows = (await connection.execute(text(explain + sql))).all()
    return "\n".join(str(row[-1]) for row in rows)
