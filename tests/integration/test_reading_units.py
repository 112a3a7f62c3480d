"""Read-only units of work (persistence.database.read_only) on real SQLite and PostgreSQL:
they run without a transaction block, so a write in one would be committed at once; it is
refused before it reaches the database, and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.customer.profile import AcquisitionChannel, Customer, CustomerStatus, Profile
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import WriteWhileReading, session_factory
from persistence.uow import SqlUnitOfWork


def _customer() -> tuple[Customer, Profile]:
    customer = Customer(
        id=uuid4(),
        status=CustomerStatus.ACTIVE,
        created_at=datetime.now(UTC),
        acquisition_channel=AcquisitionChannel.WEB,
    )
    profile = Profile(
        customer_id=customer.id, given_name="Ada", family_name="Lovelace", email=Email("a@x.io")
    )
    return customer, profile


async def _customers(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(CustomerRow))).scalar_one()
        )


@pytest.mark.parametrize("snapshot", [False, True])
async def test_a_reading_unit_refuses_to_write_and_stores_nothing(
    engine: AsyncEngine, master_key: MasterKey, snapshot: bool
) -> None:
    sessions = session_factory(engine)
    customer, profile = _customer()
    with pytest.raises(WriteWhileReading):
        async with SqlUnitOfWork(sessions, master_key).reading(snapshot=snapshot) as uow:
            await uow.customers.add(customer, profile)
    assert await _customers(engine) == 0


async def test_a_reading_unit_reads_what_was_committed(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    sessions = session_factory(engine)
    customer, profile = _customer()
    async with SqlUnitOfWork(sessions, master_key) as uow:
        await uow.customers.add(customer, profile)
        await uow.commit()
    for snapshot in (False, True):
        async with SqlUnitOfWork(sessions, master_key).reading(snapshot=snapshot) as uow:
            read = await uow.customers.get_profile(customer.id)
            assert read is not None
            assert read.email == Email("a@x.io")
            assert (await uow.session.execute(text("SELECT 1"))).scalar() == 1


async def test_leaving_a_unit_gives_back_every_connection_and_keeps_only_what_was_committed(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    """Whether the unit began a transaction or not (a reading unit whose read took a
    connection of its own begins none), nothing stays checked out, and what was not
    committed is not stored."""
    sessions = session_factory(engine)
    pool = engine.sync_engine.pool
    customer, profile = _customer()
    async with SqlUnitOfWork(sessions, master_key) as uow:
        await uow.customers.add(customer, profile)  # never committed
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await _customers(engine) == 0
    async with SqlUnitOfWork(sessions, master_key) as uow:
        await uow.customers.add(customer, profile)
        await uow.commit()
    async with SqlUnitOfWork(sessions, master_key).reading() as uow:
        assert await uow.customers.get_profile(customer.id) is not None
        assert not uow.session.in_transaction()
    async with SqlUnitOfWork(sessions, master_key).reading() as uow:
        assert await uow.customers.get(customer.id) is not None  # through the session
        assert uow.session.in_transaction()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await _customers(engine) == 1
