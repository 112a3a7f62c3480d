"""A withdrawal committed while a rebuild runs is never undone by the rebuild, whether it
lands before a batch locks the projection, just after, or while the batch, having read the
customer as a member, writes their rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from analytics_seed import seed_population, set_analytics
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from test_analytics_projection import PROJECTION_TABLES, key_of

from domain.analytics.attributes import pseudonym
from domain.clock import SystemClock
from persistence.analytics import rebuild as rebuild_module
from persistence.analytics.rebuild import rebuild_projection
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.uow import SqlUnitOfWork


@pytest.mark.parametrize("phase", ["before_lock", "under_lock", "while_writing"])
async def test_a_withdrawal_during_a_rebuild_stays_withdrawn(
    phase: str,
    uow_factory: Callable[[], SqlUnitOfWork],
    engine: AsyncEngine,
    master_key: MasterKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await seed_population(uow_factory, 8)
    for customer_id in ids:
        await set_analytics(uow_factory, customer_id, granted=True)
    targets = iter(ids[1::2])  # one withdrawal per batch of two
    withdrawals: list[asyncio.Task[None]] = []
    withdrawn: list[UUID] = []

    async def withdraw_meanwhile() -> None:
        customer_id = next(targets, None)
        if customer_id is None:
            return
        withdrawn.append(customer_id)
        withdrawals.append(
            asyncio.create_task(set_analytics(uow_factory, customer_id, granted=False))
        )
        await asyncio.sleep(0.3)  # let it commit, or block on the batch's lock

    if phase == "before_lock":
        original_read = rebuild_module.read_sources

        async def read_then_withdraw(*args: Any, **kwargs: Any) -> Any:
            sources = await original_read(*args, **kwargs)
            await withdraw_meanwhile()
            return sources

        monkeypatch.setattr(rebuild_module, "read_sources", read_then_withdraw)
    elif phase == "while_writing":
        # The batch has read membership (still granted) and is about to write the rows.
        original_insert = rebuild_module.insert_projected

        async def withdraw_then_insert(*args: Any, **kwargs: Any) -> Any:
            await withdraw_meanwhile()
            return await original_insert(*args, **kwargs)

        monkeypatch.setattr(rebuild_module, "insert_projected", withdraw_then_insert)
    else:
        original_lock = rebuild_module.lock_state

        async def lock_then_withdraw(*args: Any, **kwargs: Any) -> Any:
            state = await original_lock(*args, **kwargs)
            await withdraw_meanwhile()
            return state

        monkeypatch.setattr(rebuild_module, "lock_state", lock_then_withdraw)

    report = await rebuild_projection(session_factory(engine), master_key, SystemClock(), batch=2)
    await asyncio.gather(*withdrawals)
    assert len(withdrawn) == 4
    assert report.customers == 8
    key = await key_of(engine, master_key)
    expected = {pseudonym(key, c) for c in ids if c not in withdrawn}
    async with engine.connect() as connection:
        for table in PROJECTION_TABLES:
            present = {
                row[0]
                for row in await connection.execute(text(f"SELECT DISTINCT pseudonym FROM {table}"))
            }
            assert present == expected, table
