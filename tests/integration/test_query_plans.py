"""The hot reads use their indexes as built for them, on both engines: a page of an
account's transactions walks an index in order and stops after the page, instead of
sorting every row of the account first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import persistence_samples as samples
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.customer.accounts import TransactionStatus
from persistence.uow import SqlUnitOfWork

# Enough rows that sorting them costs more than walking an index.
BUSY_ACCOUNT = 2_000


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"before": (samples.T0 + samples.hours(1_000), uuid4())},
        {"booked_from": samples.T0, "booked_to": samples.T0 + samples.hours(1_500)},
        {"status": TransactionStatus.BOOKED},
    ],
    ids=["first page", "next page", "time range", "status"],
)
async def test_a_page_of_transactions_walks_the_index_without_sorting(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], filters: dict[str, Any]
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

    statement, parameters = await _page_statement(
        engine, uow_factory, customer.id, mine.id, filters
    )
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(explain + statement, parameters)).all()
    plan = "\n".join(str(row[-1]) for row in rows)

    assert "ix_transactions_customer_id_account_id_booked_at_id" in plan, plan
    assert "Sort" not in plan, plan  # PostgreSQL
    assert "TEMP B-TREE" not in plan, plan  # SQLite


async def _page_statement(
    engine: AsyncEngine,
    uow_factory: Callable[[], SqlUnitOfWork],
    customer: UUID,
    account: UUID,
    filters: dict[str, Any],
) -> tuple[str, Any]:
    """The statement (and its driver parameters) the repository sends for one page.

    Read in a unit that may write, which sends it through SQLAlchemy, where it can be
    seen; a reading unit sends the same compiled text on the driver's own connection
    (persistence.driver_read)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM transactions" in statement:
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with uow_factory() as uow:
            page = await uow.transactions.list_for_account(customer, account, **filters)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert page, "the page must find rows, or its plan would prove nothing"
    [(statement, parameters)] = sent
    return statement, parameters
