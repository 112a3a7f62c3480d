"""The shared fixtures really give every test a database as the migrations left it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import persistence_samples as samples
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from throwaway_db import PgSessionDatabase

from domain.audit.events import Actor, ActorType, AuditRecord, Outcome
from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import make_engine, session_factory
from persistence.keystore import DataKeyRow
from persistence.migrate import is_at_head
from persistence.uow import SqlUnitOfWork


async def _count(engine: AsyncEngine, statement: object) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())  # type: ignore[call-overload]


@pytest.mark.postgres
def test_postgres_reset_restores_the_just_migrated_state(
    postgres_database: PgSessionDatabase, master_key: MasterKey
) -> None:
    # Synchronous on purpose: resetting runs its own event loop, as it does between tests.
    customer = samples.customer()
    url = postgres_database.fresh_url()

    async def dirty() -> tuple[list[object], int]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                head = list((await connection.execute(text("SELECT * FROM audit_head"))).all())
            async with SqlUnitOfWork(session_factory(engine), master_key) as uow:
                await uow.customers.add(customer, samples.profile(customer.id))
                event = await uow.audit.append(_record(customer.id))
                await uow.commit()
            assert await _count(engine, select(func.count()).select_from(CustomerRow)) == 1
            return head, event.seq
        finally:
            await engine.dispose()

    async def inspect_and_redo() -> tuple[list[object], int]:
        engine = make_engine(url)
        try:
            assert await is_at_head(engine)
            assert await _count(engine, select(func.count()).select_from(CustomerRow)) == 0
            assert await _count(engine, select(func.count()).select_from(DataKeyRow)) == 0
            async with engine.connect() as connection:
                head = list((await connection.execute(text("SELECT * FROM audit_head"))).all())
            async with SqlUnitOfWork(session_factory(engine), master_key) as uow:
                await uow.customers.add(customer, samples.profile(customer.id))
                event = await uow.audit.append(_record(customer.id))
                await uow.commit()
            return head, event.seq
        finally:
            await engine.dispose()

    seeded_head, first_seq = asyncio.run(dirty())
    assert postgres_database.fresh_url() == url
    head_after_reset, seq_after_reset = asyncio.run(inspect_and_redo())
    assert head_after_reset == seeded_head  # rows the migrations seeded are back
    assert seq_after_reset == first_seq  # the audit chain starts over, as in a new database


def _record(subject: UUID) -> AuditRecord:
    return AuditRecord(
        actor=Actor(type=ActorType.SYSTEM, id="test"),
        subject_id=subject,
        action="profile.read",
        resource_type="profile",
        outcome=Outcome.ALLOWED,
    )


async def test_each_test_starts_empty(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    # Run twice per engine (parametrized below): neither run may see the other's customer.
    assert await _count(engine, select(func.count()).select_from(CustomerRow)) == 0
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.commit()


test_each_test_starts_empty_again = test_each_test_starts_empty


@pytest.mark.postgres
def test_postgres_schema_changes_do_not_leak_into_the_next_test(
    postgres_database: PgSessionDatabase,
) -> None:
    url = postgres_database.fresh_url()
    triggers = text("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")

    async def count_triggers(*, drop_one: bool) -> int:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                if drop_one:
                    name = (
                        await connection.execute(
                            text(
                                "SELECT tgname || ' ON ' || tgrelid::regclass FROM pg_trigger "
                                "WHERE NOT tgisinternal LIMIT 1"
                            )
                        )
                    ).scalar_one()
                    await connection.execute(text(f"DROP TRIGGER {name}"))
                return int((await connection.execute(triggers)).scalar_one())
        finally:
            await engine.dispose()

    before = asyncio.run(count_triggers(drop_one=False))
    assert before > 0  # the audit log's append-only triggers
    assert asyncio.run(count_triggers(drop_one=True)) == before - 1
    url = postgres_database.fresh_url()
    assert asyncio.run(count_triggers(drop_one=False)) == before
