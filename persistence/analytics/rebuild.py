"""`custodian projection rebuild [--rotate]`: the projection recomputed from the sources.

Customers are processed in batches, each in a transaction of its own, so consent changes
are never blocked for longer than one batch. Each batch reads the sources of the likely
members first, then locks the projection state exclusively and re-reads membership, so
whatever was withdrawn before the lock is left out, and whatever is withdrawn after it waits
for the batch and then deletes what it wrote (see persistence.analytics.projection).

With `rotate`, a new key salt is drawn first; batches write rows under the current and the
new key, and a last transaction makes the new key current and deletes every row of the old
generation: readers see either the old projection or the new one, never a mix of keys.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.analytics.attributes import month_of, pseudonym
from domain.analytics.membership import is_member
from domain.analytics.projecting import Projected, project_customer
from domain.clock import Clock
from persistence.analytics.projection import (
    delete_pseudonyms,
    generation_keys,
    insert_projected,
    lock_state,
)
from persistence.analytics.sources import membership_facts, read_sources
from persistence.analytics.tables import (
    AnalyticsContactRow,
    AnalyticsMemberRow,
    AnalyticsMonthRow,
)
from persistence.crypto import KeyWrapper, MasterKey
from persistence.customer.tables import CustomerRow
from persistence.keystore import SqlKeyRing

DEFAULT_BATCH = 50


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What a rebuild did."""

    customers: int
    members: int
    transactions: int
    generation: int
    rotated: bool
    seconds: float


async def rebuild_projection(
    sessions: async_sessionmaker[AsyncSession],
    master: MasterKey,
    clock: Clock,
    *,
    rotate: bool = False,
    batch: int = DEFAULT_BATCH,
) -> RebuildReport:
    """Recompute every member's rows (and, with `rotate`, replace the key and every
    pseudonym). Safe beside live consent changes; see the module docstring."""
    started = time.perf_counter()
    if rotate:
        async with sessions() as session:
            state = await lock_state(session, exclusive=True)
            state.next_salt = os.urandom(32)
            await session.commit()
    async with sessions() as session:
        customer_ids = list(
            (await session.scalars(select(CustomerRow.id).order_by(CustomerRow.id))).all()
        )
    members = transactions = 0
    for first in range(0, len(customer_ids), batch):
        done = await _batch(sessions, master, clock, customer_ids[first : first + batch])
        members += done[0]
        transactions += done[1]
    async with sessions() as session:
        state = await lock_state(session, exclusive=True)
        if rotate and state.next_salt is not None:
            old = state.generation
            state.generation, state.key_salt, state.next_salt = old + 1, state.next_salt, None
            stale = select(AnalyticsMemberRow.pseudonym).where(AnalyticsMemberRow.generation == old)
            for table in (AnalyticsContactRow, AnalyticsMonthRow):
                await session.execute(delete(table).where(table.pseudonym.in_(stale)))
            await session.execute(
                delete(AnalyticsMemberRow).where(AnalyticsMemberRow.generation == old)
            )
        state.rebuilt_at = clock.now()
        generation = state.generation
        await session.commit()
    return RebuildReport(
        customers=len(customer_ids),
        members=members,
        transactions=transactions,
        generation=generation,
        rotated=rotate,
        seconds=time.perf_counter() - started,
    )


async def _batch(
    sessions: async_sessionmaker[AsyncSession],
    master: MasterKey,
    clock: Clock,
    customer_ids: list[UUID],
) -> tuple[int, int]:
    as_of = clock.now().date()
    async with sessions() as session:
        keys = SqlKeyRing(session, KeyWrapper(master))
        likely = await membership_facts(session, customer_ids)
        candidates = [c for c, facts in likely.items() if is_member(facts)]
        sources = await read_sources(session, keys, candidates, as_of)
        state = await lock_state(session, exclusive=True)
        # Membership again, under the lock: a withdrawal committed meanwhile counts.
        facts = await membership_facts(session, customer_ids)
        generations = generation_keys(master, state)
        await delete_pseudonyms(
            session, [pseudonym(k, c) for c in customer_ids for _, k in generations]
        )
        rows: list[tuple[str, int, Projected, str]] = []
        read = 0
        for source in sources:
            now = facts.get(source.customer_id)
            if now is None or not is_member(now) or now.granted_at is None:
                continue
            read += len(source.transactions)
            projected = project_customer(source, as_of)
            since = month_of(now.granted_at)
            rows.extend(
                (pseudonym(k, source.customer_id), g, projected, since) for g, k in generations
            )
        await insert_projected(session, rows)
        await session.commit()
    return len(rows) // len(generations), read


__all__ = ["RebuildReport", "insert_projected", "lock_state", "read_sources", "rebuild_projection"]
