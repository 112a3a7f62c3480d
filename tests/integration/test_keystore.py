"""Crypto-shredding: a destroyed data key is gone from the key table, its class can no longer
be read or written, and the other classes are untouched."""

from __future__ import annotations

from collections.abc import Callable

import persistence_samples as samples
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import IntegrityError, NotFound
from domain.retention import RetentionClass
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.keystore import DataKeyRow, DestroyedKeyRow, KeyDestroyed
from persistence.uow import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]
CONTACT, INTERACTIONS, FINANCIAL = (
    RetentionClass.CONTACT,
    RetentionClass.INTERACTIONS,
    RetentionClass.FINANCIAL,
)


async def _count(engine: AsyncEngine, statement: object) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())  # type: ignore[call-overload]


async def test_destroying_keys_shreds_those_classes_only(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    customer = samples.customer()
    account = samples.account(customer.id)
    interaction = samples.interaction(customer.id)
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.accounts.add(account)
        await uow.interactions.add_many([interaction])
        await uow.customers.add_profile_changes([])
        await uow.commit()
    async with uow_factory() as uow:
        assert {
            c for c in (CONTACT, INTERACTIONS, FINANCIAL) if await uow.keys.has_key(customer.id, c)
        } == {CONTACT, INTERACTIONS, FINANCIAL}
        assert await uow.keys.destroy(customer.id, CONTACT)
        assert await uow.keys.destroy(customer.id, INTERACTIONS)
        await uow.commit()

    keys_left = (
        select(func.count()).select_from(DataKeyRow).where(DataKeyRow.customer_id == customer.id)
    )
    assert await _count(engine, keys_left) == 1  # only the financial key remains
    tombstones = (
        select(func.count())
        .select_from(DestroyedKeyRow)
        .where(DestroyedKeyRow.customer_id == customer.id)
    )
    assert await _count(engine, tombstones) == 2

    async with uow_factory() as uow:
        assert not await uow.keys.has_key(customer.id, CONTACT)
        assert await uow.keys.is_destroyed(customer.id, CONTACT)
        # Erased classes read as gone, as the ports promise for missing data.
        assert await uow.customers.get_profile(customer.id) is None
        assert await uow.interactions.get(customer.id, interaction.id) is None
        assert await uow.interactions.list_for_customer(customer.id) == []
        # The customer record and the financial class are kept.
        assert await uow.customers.get(customer.id) == customer
        assert await uow.accounts.get(customer.id, account.id) == account
        # No fresh key is ever made for an erased class, so nothing new can be written.
        with pytest.raises(KeyDestroyed):
            await uow.keys.key_for(customer.id, CONTACT)
        with pytest.raises(NotFound):
            await uow.interactions.add_many([samples.interaction(customer.id)])
        assert not await uow.keys.destroy(customer.id, CONTACT)  # already gone


async def test_key_is_created_once_and_reused(uow_factory: UowFactory) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        first = await uow.keys.key_for(customer.id, FINANCIAL)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.keys.key_for(customer.id, FINANCIAL) == first
        assert await uow.keys.key_for(customer.id, CONTACT) != first


async def test_a_key_missing_without_a_tombstone_is_an_integrity_error(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.commit()
    async with engine.begin() as connection:
        await connection.execute(delete(DataKeyRow).where(DataKeyRow.customer_id == customer.id))
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.customers.get_profile(customer.id)


async def test_another_master_key_cannot_open_the_data(
    engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    customer = samples.customer()
    async with uow_factory() as uow:
        await uow.customers.add(customer, samples.profile(customer.id))
        await uow.commit()
    async with SqlUnitOfWork(session_factory(engine), MasterKey.generate()) as uow:
        with pytest.raises(IntegrityError):
            await uow.customers.get_profile(customer.id)
