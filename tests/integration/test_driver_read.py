"""Hot reads on the driver's own connection (persistence.driver_read), on real SQLite and
PostgreSQL: the same rows as SQLAlchemy's execution gives, only in reading units, and a
driver's error reported by SQLAlchemy as always."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import asyncpg
import persistence_samples as samples
import pytest
from sqlalchemy import (
    Float,
    Select,
    Uuid,
    bindparam,
    column,
    event,
    func,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from throwaway_db import PG_ADMIN_URL

from domain.customer.accounts import TransactionStatus
from persistence.customer.accounts import _page_query
from persistence.database import read_only
from persistence.driver_read import DriverRead, driver_read
from persistence.uow import SqlUnitOfWork

FILTERS: list[dict[str, Any]] = [
    {},
    {"before": True},
    {"booked_from": True, "booked_to": True},
    {"status": True},
    {"before": True, "booked_from": True, "booked_to": True, "status": True},
]


async def _account_with_transactions(uow_factory: Callable[[], SqlUnitOfWork]) -> Any:
    customer = samples.customer()
    account = samples.account(customer.id)
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.accounts.add(account)
        await uow.transactions.add_many(
            [
                samples.transaction(account, booked_at=samples.T0 + samples.hours(n))
                for n in range(30)
            ]
        )
        await uow.commit()
    return account


def _first_page(account: Any, *, limit: int) -> tuple[Select[Any], dict[str, Any]]:
    """The statement of an account's first page of transactions, and its parameters."""
    query = _page_query(
        before=False, booked_from=False, booked_to=False, status=False, older_form=False
    )
    return query, {"customer_id": account.customer_id, "account_id": account.id, "limit": limit}


def _statements(engine: AsyncEngine) -> list[str]:
    """Every statement SQLAlchemy sends from now on."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return sent


@pytest.mark.parametrize("older_form", [False, True], ids=["sealed-fields", "older-form"])
@pytest.mark.parametrize("filters", FILTERS, ids=["first", "next", "range", "status", "all"])
async def test_a_page_read_on_the_driver_equals_sqlalchemys(
    engine: AsyncEngine,
    uow_factory: Callable[[], SqlUnitOfWork],
    filters: dict[str, Any],
    older_form: bool,
) -> None:
    account = await _account_with_transactions(uow_factory)
    query = _page_query(
        before="before" in filters,
        booked_from="booked_from" in filters,
        booked_to="booked_to" in filters,
        status="status" in filters,
        older_form=older_form,
    )
    parameters: dict[str, Any] = {
        "customer_id": account.customer_id,
        "account_id": account.id,
        "limit": 10,
        "before_at": samples.T0 + samples.hours(25),
        "before_id": uuid4(),
        "booked_from": samples.T0 + samples.hours(3),
        "booked_to": samples.T0 + samples.hours(20),
        "status": TransactionStatus.BOOKED.value,
    }
    async with read_only(engine).connect() as connection:
        expected = (await connection.execute(query, parameters)).all()
        sent = _statements(engine)
        rows = await driver_read(query, engine.dialect).rows(connection, parameters)

    assert expected, "the statement must find rows, or equal results would prove nothing"
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [type(value) for value in rows[0]] == [type(value) for value in expected[0]]
    assert sent == []  # not through SQLAlchemy's execution


async def test_rows_are_read_by_position_from_either_end_and_by_name(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=2)
    async with read_only(engine).connect() as connection:
        [first, _] = await driver_read(query, engine.dialect).rows(connection, parameters)

    row_id, booked_at, *_rest = first
    assert first.id == first[0] == row_id
    assert first.booked_at == booked_at == samples.T0 + samples.hours(29)
    assert first[-1] == first[len(first) - 1]
    assert isinstance(first[-1], bytes)  # the data key


async def test_a_unit_that_may_write_reads_through_sqlalchemy(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """Its statements belong to its transaction, which SQLAlchemy opens and holds."""
    account = await _account_with_transactions(uow_factory)
    sent = _statements(engine)
    async with uow_factory() as uow:
        page = await uow.transactions.list_for_account(account.customer_id, account.id)
    assert len(page) == 30
    assert any("FROM transactions" in statement for statement in sent)


async def test_a_snapshot_read_goes_through_sqlalchemy(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """A snapshot unit's first statement opens its transaction (a deferred BEGIN on SQLite)."""
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=5)
    sent = _statements(engine)
    async with read_only(engine, snapshot=True).connect() as connection:
        rows = await driver_read(query, engine.dialect).rows(connection, parameters)
    assert len(rows) == 5
    assert any("FROM transactions" in statement for statement in sent)


async def test_a_drivers_error_is_reported_by_sqlalchemy(engine: AsyncEngine) -> None:
    """The driver's own exception goes no further: the statement is sent once more through
    SQLAlchemy, which raises its wrapped error (the API turns a lost connection into 503)."""
    missing = table("no_such_table", column("id", Uuid))
    query: Select[Any] = select(missing.c.id).where(missing.c.id == bindparam("id", type_=Uuid))
    sent = _statements(engine)
    async with read_only(engine).connect() as connection:
        with pytest.raises(DBAPIError):
            await driver_read(query, engine.dialect).rows(connection, {"id": uuid4()})
    assert any("no_such_table" in statement for statement in sent)


def test_a_list_parameter_is_refused_when_built(engine: AsyncEngine) -> None:
    """An IN list expands at execution time, which a driver read does not do."""
    items = table("items", column("id", Uuid))
    query: Select[Any] = select(items.c.id).where(items.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="positional parameters"):
        DriverRead(query, engine.dialect)


async def _terminate_backend_of(connection: AsyncConnection) -> None:
    """End the PostgreSQL backend serving `connection`, as a database restart would."""
    backend = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute("SELECT pg_terminate_backend($1, 5000)", backend)
    finally:
        await admin.close()


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_lost_connection_is_invalidated_as_sqlalchemy_reports_it(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """A backend terminated under a checked-out connection (a database restart): the
    error is SQLAlchemy's, the connection invalidated, so the API answers 503 and the pool
    replaces it."""
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=5)
    async with read_only(engine).connect() as connection:
        await _terminate_backend_of(connection)
        with pytest.raises(DBAPIError) as raised:
            await driver_read(query, engine.dialect).rows(connection, parameters)
    assert raised.value.connection_invalidated
    async with read_only(engine).connect() as connection:  # the pool serves a new one
        rows = await driver_read(query, engine.dialect).rows(connection, parameters)
    assert len(rows) == 5


async def test_a_missing_parameter_is_named_as_sqlalchemy_names_it(engine: AsyncEngine) -> None:
    """Not read as NULL: a forgotten parameter would find nothing instead of failing."""
    query = _page_query(
        before=False, booked_from=False, booked_to=False, status=False, older_form=False
    )
    async with read_only(engine).connect() as connection:
        with pytest.raises(StatementError, match="account_id"):
            await driver_read(query, engine.dialect).rows(
                connection, {"customer_id": uuid4(), "limit": 5}
            )


def _pool_events(engine: AsyncEngine) -> list[str]:
    """Every checkout, checkin and invalidation the engine's pool makes from now on."""
    seen: list[str] = []
    for name in ("checkout", "checkin", "invalidate"):
        event.listen(engine.sync_engine, name, lambda *_, name=name: seen.append(name))
    return seen


async def test_a_reading_units_read_takes_a_connection_for_itself_and_puts_it_back(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """A unit that has not used its session yet: the read takes no session connection and
    no transaction, only a pooled connection for the read's own length."""
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=30)
    async with read_only(engine).connect() as connection:
        expected = (await connection.execute(query, parameters)).all()
    sent, pool = _statements(engine), _pool_events(engine)
    async with uow_factory().reading() as uow:
        session = uow.session
        rows = await driver_read(query, engine.dialect).rows_in(session, parameters)
        assert not session.in_transaction()
        assert pool == ["checkout", "checkin"]  # put back before the unit ends
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [type(value) for value in rows[0]] == [type(value) for value in expected[0]]
    assert sent == []
    async with uow_factory().reading() as uow:  # what the repositories do
        assert await uow.transactions.list_for_account(account.customer_id, account.id)
        assert not uow.session.in_transaction()


@pytest.mark.parametrize("unit", ["reading", "may write"])
async def test_columns_hold_the_rows_values_column_by_column(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], unit: str
) -> None:
    """On a connection of the read's own (a reading unit) and through SQLAlchemy (a unit
    that may write): the values of the rows, converted the same way, a column at a time."""
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=30)
    read = driver_read(query, engine.dialect)
    async with read_only(engine).connect() as connection:
        expected = (await connection.execute(query, parameters)).all()

    async def columns_for(customer_id: Any) -> list[Any]:
        unit_of_work = uow_factory().reading() if unit == "reading" else uow_factory()
        async with unit_of_work as uow:
            return await read.columns_in(uow.session, {**parameters, "customer_id": customer_id})

    sent = _statements(engine)
    columns = await columns_for(account.customer_id)
    assert len(expected) == 30
    assert [tuple(values) for values in columns] == list(zip(*expected, strict=True))
    assert [type(values[0]) for values in columns] == [type(value) for value in expected[0]]
    if unit == "reading":
        assert sent == []
    else:
        assert any("FROM transactions" in statement for statement in sent)
    # Another customer's account: no rows, and still a column for each selected one.
    nothing = await columns_for(uuid4())
    assert [tuple(values) for values in nothing] == [()] * len(query.selected_columns)


async def test_a_session_that_holds_a_connection_reads_on_it(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=5)
    async with uow_factory().reading() as uow:
        await uow.session.execute(text("SELECT 1"))
        pool = _pool_events(engine)
        rows = await driver_read(query, engine.dialect).rows_in(uow.session, parameters)
    assert len(rows) == 5
    assert pool == ["checkin"]  # the unit's own connection, put back when it ends
    sent = _statements(engine)
    async with uow_factory() as uow:  # a unit that may write: inside its transaction
        rows = await driver_read(query, engine.dialect).rows_in(uow.session, parameters)
        assert uow.session.in_transaction()
    assert len(rows) == 5
    assert any("FROM transactions" in statement for statement in sent)


async def test_a_drivers_error_on_a_taken_connection_invalidates_it_and_sqlalchemy_reports_it(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    missing = table("no_such_table", column("id", Uuid))
    query: Select[Any] = select(missing.c.id).where(missing.c.id == bindparam("id", type_=Uuid))
    sent, pool = _statements(engine), _pool_events(engine)
    async with uow_factory().reading() as uow:
        with pytest.raises(DBAPIError):
            await driver_read(query, engine.dialect).rows_in(uow.session, {"id": uuid4()})
    assert pool[:2] == ["checkout", "invalidate"]
    assert any("no_such_table" in statement for statement in sent)
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_lost_pooled_connection_is_replaced_and_the_read_still_answers(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """The pool's connection was terminated while it sat idle (a database restart): the
    read's driver fails on it, it is invalidated, and the session's read on a new one
    answers."""
    account = await _account_with_transactions(uow_factory)
    query, parameters = _first_page(account, limit=5)
    await engine.dispose()  # the pool holds one connection only: the one terminated below
    async with read_only(engine).connect() as connection:
        await _terminate_backend_of(connection)
    pool = _pool_events(engine)
    async with uow_factory().reading() as uow:
        rows = await driver_read(query, engine.dialect).rows_in(uow.session, parameters)
    assert len(rows) == 5
    assert "invalidate" in pool


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
async def test_a_cancelled_read_does_not_put_its_connection_back(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork]
) -> None:
    """A read abandoned mid-statement (the client went away) leaves its connection in an
    unknown state: it is invalidated, and the pool has nothing checked out."""
    slow: Select[Any] = select(func.pg_sleep(bindparam("seconds", type_=Float)))
    pool = _pool_events(engine)
    async with uow_factory().reading() as uow:
        read = asyncio.ensure_future(
            driver_read(slow, engine.dialect).rows_in(uow.session, {"seconds": 5.0})
        )
        await asyncio.sleep(0.5)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
    assert pool == ["checkout", "invalidate", "checkin"]  # checked in as invalid: closed
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
