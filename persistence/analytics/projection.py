"""The projection's write side: add or remove one customer inside the caller's transaction.

Every membership change first locks the state row for sharing (PostgreSQL `FOR SHARE`;
SQLite serialises writers anyway), and every rebuild batch locks it exclusively. So a
withdrawal either commits before a batch reads membership (the batch then leaves the
customer out) or waits for the batch to commit and then deletes what the batch wrote: a
rebuild never undoes a withdrawal.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.analytics.attributes import month_of, pseudonym
from domain.analytics.membership import Membership, MembershipFacts, is_member
from domain.analytics.projecting import Projected, project_customer
from domain.clock import Clock
from persistence.analytics.sources import membership_facts, read_sources
from persistence.analytics.tables import (
    AnalyticsContactRow,
    AnalyticsMemberRow,
    AnalyticsMonthRow,
    AnalyticsStateRow,
)
from persistence.crypto import KeyPurpose, MasterKey
from persistence.keystore import SqlKeyRing

STATE_ID = 1


def projection_key(master: MasterKey, salt: bytes) -> bytes:
    """The projection key for `salt`: HMAC-SHA256 of the salt under the master-derived
    pseudonym key. A new salt (rotation) gives a key unrelated to the old one."""
    return hmac.new(
        master.derive(KeyPurpose.ANALYTICS_PSEUDONYM.value), salt, hashlib.sha256
    ).digest()


async def lock_state(session: AsyncSession, *, exclusive: bool) -> AnalyticsStateRow:
    """The state row, locked (shared for membership changes, exclusive for rebuilds)."""
    state = await session.scalar(
        select(AnalyticsStateRow)
        .where(AnalyticsStateRow.id == STATE_ID)
        .with_for_update(read=not exclusive)
    )
    if state is None:
        raise LookupError("the analytics projection is not migrated")
    return state


def generation_keys(master: MasterKey, state: AnalyticsStateRow) -> list[tuple[int, bytes]]:
    """(generation, key) of the current projection and, during a rotation, of the next."""
    keys = [(state.generation, projection_key(master, state.key_salt))]
    if state.next_salt is not None:
        keys.append((state.generation + 1, projection_key(master, state.next_salt)))
    return keys


async def delete_pseudonyms(session: AsyncSession, pseudonyms: Sequence[str]) -> None:
    """Delete every row of these pseudonyms."""
    for table in (AnalyticsContactRow, AnalyticsMonthRow, AnalyticsMemberRow):
        await session.execute(delete(table).where(table.pseudonym.in_(pseudonyms)))


async def insert_projected(
    session: AsyncSession, rows: Sequence[tuple[str, int, Projected, str]]
) -> None:
    """Insert (pseudonym, generation, projection, member-since month) rows in batches."""
    members: list[dict[str, Any]] = []
    months: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    for name, generation, projected, since in rows:
        a = projected.attributes
        members.append(
            {
                "pseudonym": name,
                "generation": generation,
                "age_band": a.age_band,
                "country": a.country,
                "channel": a.channel,
                "tenure_band": a.tenure_band,
                "products": a.products,
                "joined_month": projected.joined_month,
                "left_month": projected.left_month,
                "referred": projected.referred,
                "referrals_made": projected.referrals_made,
                "member_since": since,
            }
        )
        months.extend({"pseudonym": name, **_fields(m)} for m in projected.months)
        contacts.extend({"pseudonym": name, **_fields(c)} for c in projected.channels)
    for table, values in (
        (AnalyticsMemberRow, members),
        (AnalyticsMonthRow, months),
        (AnalyticsContactRow, contacts),
    ):
        if values:
            await session.execute(insert(table), values)


def _fields(facts: object) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in facts.__slots__}  # type: ignore[attr-defined]


class SqlProjection:
    """domain.analytics.membership.AnalyticsProjection in the unit of work's session."""

    def __init__(
        self, session: AsyncSession, keys: SqlKeyRing, master: MasterKey, clock: Clock
    ) -> None:
        self._session = session
        self._keys = keys
        self._master = master
        self._clock = clock

    async def add(self, customer_id: UUID) -> bool:
        """(Re)project the customer if the membership rule admits them, else remove them."""
        state = await lock_state(self._session, exclusive=False)
        keys = generation_keys(self._master, state)
        await delete_pseudonyms(self._session, [pseudonym(k, customer_id) for _, k in keys])
        facts = (await membership_facts(self._session, [customer_id])).get(customer_id)
        if facts is None or not is_member(facts) or facts.granted_at is None:
            return False
        as_of = self._clock.now().date()
        sources = await read_sources(self._session, self._keys, [customer_id], as_of)
        if not sources:
            return False
        projected = project_customer(sources[0], as_of)
        since = month_of(facts.granted_at)
        await insert_projected(
            self._session, [(pseudonym(k, customer_id), g, projected, since) for g, k in keys]
        )
        return True

    async def remove(self, customer_id: UUID) -> None:
        """Delete every row of the customer, under the current and any next key."""
        state = await lock_state(self._session, exclusive=False)
        keys = generation_keys(self._master, state)
        await delete_pseudonyms(self._session, [pseudonym(k, customer_id) for _, k in keys])

    async def membership(self, customer_id: UUID) -> Membership:
        """Whether the customer is in the projection now, and since when (the grant that
        admitted them)."""
        state = await self._session.get(AnalyticsStateRow, STATE_ID)
        if state is None:
            return Membership(member=False, since=None)
        name = pseudonym(projection_key(self._master, state.key_salt), customer_id)
        found = await self._session.scalar(
            select(AnalyticsMemberRow.pseudonym).where(AnalyticsMemberRow.pseudonym == name)
        )
        if found is None:
            return Membership(member=False, since=None)
        facts: MembershipFacts | None = (await membership_facts(self._session, [customer_id])).get(
            customer_id
        )
        return Membership(member=True, since=None if facts is None else facts.granted_at)
