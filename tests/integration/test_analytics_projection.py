"""The analytics projection on real databases: membership follows consent, restriction and
erasure requests in the same transaction; rebuilds agree with incremental maintenance; no
identifying value ever enters; rotation replaces every pseudonym."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from analytics_seed import (
    CANARIES,
    CUSTOMER_ACTOR,
    add_bare_customer,
    seed_population,
    set_analytics,
)
from older_transactions import rewrite_all_in_the_older_form
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.analytics.attributes import add_months, month_of, pseudonym
from domain.clock import SystemClock
from domain.customer.access import Access
from domain.dsr.deliberate_erasure import CONFIRMATION_PHRASE, ErasurePolicy, ask_for_erasure
from domain.dsr.restriction import set_restriction
from persistence.analytics.projection import STATE_ID, projection_key
from persistence.analytics.rebuild import rebuild_projection
from persistence.analytics.tables import AnalyticsMemberRow, AnalyticsStateRow
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.uow import SqlUnitOfWork

PROJECTION_TABLES = ("analytics_members", "analytics_months", "analytics_contacts")
NOW = month_of(datetime.now(UTC))
BEFORE = add_months(NOW, -1)


async def aggregates(uow_factory: Callable[[], SqlUnitOfWork]) -> dict[str, Any]:
    """Every kind of aggregate the API serves, as comparable values."""
    async with uow_factory().reading() as uow:
        r = uow.analytics
        return {
            "population": await r.population(),
            "segments": sorted(await r.segments(["country", "tier", "age_band"], NOW), key=repr),
            "movement": sorted(await r.tier_movement(BEFORE, NOW), key=repr),
            "flow": sorted(await r.flow(add_months(NOW, -24), NOW), key=repr),
            "churn": sorted(await r.churn("channel", BEFORE, NOW), key=repr),
            "referrals": sorted(await r.referrals(NOW), key=repr),
            "experience": sorted(await r.experience("tier", BEFORE, NOW), key=repr),
            "pressure": sorted(await r.contact_pressure(BEFORE, NOW), key=repr),
        }


async def member_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (await connection.execute(text("SELECT count(*) FROM analytics_members"))).scalar_one()
        )


async def key_of(engine: AsyncEngine, master_key: MasterKey) -> bytes:
    async with session_factory(engine)() as session:
        state = await session.get(AnalyticsStateRow, STATE_ID)
        assert state is not None
        return projection_key(master_key, state.key_salt)


async def test_consent_adds_and_withdrawal_removes_in_the_same_transaction(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, master_key: MasterKey
) -> None:
    ids = await seed_population(uow_factory, 3)
    assert await member_count(engine) == 0  # no consent, no membership
    await set_analytics(uow_factory, ids[0], granted=True)
    key = await key_of(engine, master_key)
    async with session_factory(engine)() as session:
        member = await session.get(AnalyticsMemberRow, pseudonym(key, ids[0]))
    assert member is not None
    assert (member.country, member.age_band, member.channel) == ("DE", "50-59", "web")
    async with uow_factory() as uow:
        membership = await uow.projection.membership(ids[0])
    assert membership.member
    assert membership.since is not None
    await set_analytics(uow_factory, ids[0], granted=False)
    # The withdrawal's commit is the projection's: nothing of theirs is left, anywhere.
    async with engine.connect() as connection:
        for table in PROJECTION_TABLES:
            rows = await connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE pseudonym = :p"),
                {"p": pseudonym(key, ids[0])},
            )
            assert rows.scalar_one() == 0, table


async def test_withdrawal_rolled_back_leaves_the_customer_in(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    ids = await seed_population(uow_factory, 1)
    await set_analytics(uow_factory, ids[0], granted=True)
    async with uow_factory() as uow:
        await uow.projection.remove(ids[0])
        # no commit: the unit of work rolls back, and the removal with it
    assert await member_count(engine) == 1


async def test_restriction_objection_and_erasure_request_remove_the_customer(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    ids = await seed_population(uow_factory, 3)
    for customer_id in ids:
        await set_analytics(uow_factory, customer_id, granted=True)
    assert await member_count(engine) == 3
    clock = SystemClock()

    async def restrict(customer_id: Any, restricted: bool, objection: bool = False) -> None:
        await set_restriction(
            uow_factory,
            clock,
            Access(CUSTOMER_ACTOR, customer_id),
            restricted=restricted,
            ground=None,
            object_to_marketing=objection,
            consent_units=uow_factory,  # type: ignore[arg-type]
        )

    await restrict(ids[0], True)
    assert await member_count(engine) == 2
    await restrict(ids[0], False)  # lifting readmits: the consent still stands
    assert await member_count(engine) == 3
    await restrict(ids[1], False, objection=True)
    assert await member_count(engine) == 2
    await ask_for_erasure(
        uow_factory,
        clock,
        Access(CUSTOMER_ACTOR, ids[2]),
        auth_time=clock.now(),
        confirmation=CONFIRMATION_PHRASE,
        policy=ErasurePolicy(),
    )
    assert await member_count(engine) == 1
    await set_analytics(uow_factory, ids[2], granted=True)  # re-granting in the grace period
    assert await member_count(engine) == 1  # changes nothing: the erasure is pending


async def test_incremental_and_rebuilt_projections_give_identical_aggregates(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, master_key: MasterKey
) -> None:
    ids = await seed_population(uow_factory, 24)
    for customer_id in ids[:18]:
        await set_analytics(uow_factory, customer_id, granted=True)
    await set_analytics(uow_factory, ids[3], granted=False)
    incremental = await aggregates(uow_factory)
    assert incremental["population"] == 17
    assert incremental["segments"]
    assert incremental["movement"]
    assert incremental["experience"]
    pressure = incremental["pressure"]
    assert sum(c.customers for c in pressure) == 17  # every member, once, in some band
    assert {c.key[0] for c in pressure} <= {"0", "<0.5", "0.5-1", "1+"}
    assert {c.key[1] for c in pressure} == {"stayed"}
    report = await rebuild_projection(session_factory(engine), master_key, SystemClock(), batch=5)
    assert (report.customers, report.members) == (24, 17)
    assert await aggregates(uow_factory) == incremental


async def test_rows_in_the_older_sealed_form_give_the_same_figures(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, master_key: MasterKey
) -> None:
    # A database upgraded from revision 0013 holds transactions sealed one value per field.
    ids = await seed_population(uow_factory, 12)
    for customer_id in ids:
        await set_analytics(uow_factory, customer_id, granted=True)
    figures = await aggregates(uow_factory)
    async with uow_factory() as uow:
        assert await rewrite_all_in_the_older_form(uow, ids) > 12 * 20
        await uow.commit()
    report = await rebuild_projection(session_factory(engine), master_key, SystemClock(), batch=5)
    assert (report.customers, report.members) == (12, 12)
    assert await aggregates(uow_factory) == figures


async def test_rotation_replaces_every_pseudonym_and_keeps_the_figures(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, master_key: MasterKey
) -> None:
    ids = await seed_population(uow_factory, 6)
    for customer_id in ids:
        await set_analytics(uow_factory, customer_id, granted=True)
    before = await aggregates(uow_factory)
    sessions = session_factory(engine)
    async with sessions() as session:
        old = set((await session.scalars(select(AnalyticsMemberRow.pseudonym))).all())
    report = await rebuild_projection(sessions, master_key, SystemClock(), rotate=True)
    assert report.generation == 2
    async with sessions() as session:
        new = set((await session.scalars(select(AnalyticsMemberRow.pseudonym))).all())
    assert len(new) == 6
    assert not old & new
    assert await aggregates(uow_factory) == before
    await set_analytics(uow_factory, ids[0], granted=False)  # the new key serves removals
    assert await member_count(engine) == 5


_HEX_DIGEST = re.compile(r"[0-9a-f]{32,}")


async def test_no_identifying_value_enters_the_projection(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, master_key: MasterKey
) -> None:
    ids = await seed_population(uow_factory, 4)
    for customer_id in ids:
        await set_analytics(uow_factory, customer_id, granted=True)
    await rebuild_projection(session_factory(engine), master_key, SystemClock())
    found: list[str] = []
    async with engine.connect() as connection:
        for table in PROJECTION_TABLES:
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            assert rows, table
            cells = [str(value) for row in rows for value in row]
            # A pseudonym is a hex digest: the account's last four digits ("9876") turn up
            # in about one digest in a thousand by chance; no other canary can (each has a
            # letter beyond f, a space or a sign), and no digest can carry plain text.
            readable = [c for c in cells if not _HEX_DIGEST.fullmatch(c)]
            found += [c for c in readable for canary in CANARIES if canary.lower() in c.lower()]
            found += [c for c in cells for i in ids if str(i) in c or i.hex in c]
    assert found == []


async def test_a_customer_with_no_accounts_joins_with_attributes_only(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    customer_id = await add_bare_customer(uow_factory)  # a profile, no account ever opened
    await set_analytics(uow_factory, customer_id, granted=True)
    assert await member_count(engine) == 1
