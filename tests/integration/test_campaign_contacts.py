"""Recording contacts on real databases: the per-customer lock makes two campaigns racing for
the last free slot decide one after the other, and the batch facts see every kind of data."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Self
from uuid import UUID

from persistence_samples import customer, interaction, profile
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.audit.events import Actor, ActorType
from domain.campaigns.audience import check_audience
from domain.campaigns.policy import ContactFacts, ContactRules, ReasonCode, decide
from domain.campaigns.record_contact import ContactToRecord, NotContactable, record_contact
from domain.customer.interactions import InteractionKind
from persistence.audit.tables import AuditEventRow
from persistence.campaigns.store import SqlContactStore
from persistence.campaigns.tables import CampaignContactRow
from persistence.consent.tables import ConsentEventRow
from persistence.crypto import MasterKey
from persistence.customer.tables import CustomerRow
from persistence.database import session_factory
from persistence.demo.campaigns import DEMO_CAMPAIGNS, seed_demo_marketing
from persistence.dsr.tables import DsrRequestRow
from persistence.uow import SqlUnitOfWork

SERVICE = Actor(ActorType.SERVICE, "campaign-service", "campaign-service")
RULES = ContactRules(weekly_limit=2, monthly_limit=6)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class PausingStore(SqlContactStore):
    """Holds the first decision open for a moment after it read the facts, so a second
    decision gets every chance to read them before the first one writes."""

    def __init__(self, store: SqlContactStore, first_read: asyncio.Event) -> None:
        super().__init__(store._session)
        self._first_read = first_read

    async def facts(
        self, customer_ids: Sequence[UUID], purpose: str, now: datetime, cool_off: timedelta
    ) -> dict[UUID, ContactFacts]:
        found = await super().facts(customer_ids, purpose, now, cool_off)
        if not self._first_read.is_set():
            self._first_read.set()
            await asyncio.sleep(0.5)
        return found


class PausingUnitOfWork(SqlUnitOfWork):
    first_read: asyncio.Event

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.campaigns = PausingStore(self.campaigns, self.first_read)
        return self


async def _consenting_customer(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, at: datetime
) -> UUID:
    someone = customer()
    async with uow_factory() as uow:
        await uow.customers.add(someone, profile(someone.id))
        await uow.commit()
    async with engine.begin() as connection:
        await connection.execute(
            insert(ConsentEventRow).values(
                id=uuid.uuid4(),
                customer_id=someone.id,
                purpose="marketing_email",
                position=1,
                granted=True,
                notice_version="1",
                recorded_at=at - timedelta(days=60),
                actor_type="customer",
                actor_id=str(someone.id),
                collection_method="test",
                receipt="-",
            )
        )
    return someone.id


async def test_racing_campaigns_for_the_last_slot_exactly_one_wins(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sessions = session_factory(engine)
    first_read = asyncio.Event()

    def pausing() -> SqlUnitOfWork:
        unit = PausingUnitOfWork(sessions, master_key)
        unit.first_read = first_read
        return unit

    plain: Callable[[], SqlUnitOfWork] = lambda: SqlUnitOfWork(sessions, master_key)  # noqa: E731
    ada = await _consenting_customer(plain, engine, now)
    clock = FixedClock(now)
    await record_contact(plain, clock, RULES, SERVICE, ContactToRecord("first", ada, "email", "k0"))

    async def attempt(campaign: str) -> str:
        try:
            await record_contact(
                pausing, clock, RULES, SERVICE, ContactToRecord(campaign, ada, "email", campaign)
            )
        except NotContactable as refused:
            return "refused: " + " ".join(r.code for r in refused.decision.reasons)
        return "recorded"

    first = asyncio.create_task(attempt("racer-a"))
    await first_read.wait()  # the first decision has read one contact and is about to write
    second = asyncio.create_task(attempt("racer-b"))
    outcomes = sorted(await asyncio.gather(first, second))
    assert outcomes == ["recorded", f"refused: {ReasonCode.WEEKLY_LIMIT}"]
    async with engine.connect() as connection:
        stored = await connection.scalar(
            select(func.count())
            .select_from(CampaignContactRow)
            .where(CampaignContactRow.customer_id == ada)
        )
    assert stored == 2


async def test_batch_facts_cover_contacts_complaints_and_unknown_ids(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sessions = session_factory(engine)
    plain: Callable[[], SqlUnitOfWork] = lambda: SqlUnitOfWork(sessions, master_key)  # noqa: E731
    ada = await _consenting_customer(plain, engine, now)
    bob = await _consenting_customer(plain, engine, now)
    for days, key in ((10, "old"), (1, "new")):
        ask = ContactToRecord(key, ada, "email", key)
        await record_contact(plain, FixedClock(now - timedelta(days=days)), RULES, SERVICE, ask)
    complaint = replace(
        interaction(bob, occurred_at=now - timedelta(days=2)), kind=InteractionKind.COMPLAINT
    )
    async with plain() as uow:
        await uow.interactions.add_many([complaint])
        await uow.commit()
    stranger = uuid.uuid4()
    async with plain() as uow:
        facts = await uow.campaigns.facts(
            [ada, bob, stranger], "marketing_email", now, timedelta(days=14)
        )
    assert set(facts) == {ada, bob}
    assert sorted(facts[ada].contacts) == [now - timedelta(days=10), now - timedelta(days=1)]
    assert facts[ada].consent is not None
    assert facts[ada].consent.granted is True
    assert facts[bob].contacts == ()
    assert facts[bob].last_complaint == now - timedelta(days=2)


async def test_demo_marketing_caps_every_fourth_customer_and_is_idempotent(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sessions = session_factory(engine)
    ids = []
    for _ in range(5):
        someone = customer()
        async with SqlUnitOfWork(sessions, master_key) as uow:
            await uow.customers.add(someone, profile(someone.id))
            await uow.commit()
        ids.append(someone.id)
    first = await seed_demo_marketing(engine, master_key, ids, now=now)
    assert (first.consents, first.contacts) == (4, 3 + 2)
    assert first.capped_ids == {ids[0], ids[4]}
    again = await seed_demo_marketing(engine, master_key, ids, now=now)
    assert (again.consents, again.contacts) == (0, 0)
    async with SqlUnitOfWork(sessions, master_key) as uow:
        facts = await uow.campaigns.facts(ids, "marketing_email", now, timedelta(days=14))
    answers = [decide(facts[i], "email", RULES, now) for i in ids]
    assert [r.code for r in answers[0].reasons] == [ReasonCode.WEEKLY_LIMIT]
    assert answers[0].earliest_allowed_at == now - timedelta(days=5) + timedelta(days=7)
    assert answers[1].contactable
    assert answers[2].contactable
    assert [r.code for r in answers[3].reasons] == [ReasonCode.NO_CONSENT]
    assert [r.code for r in answers[4].reasons] == [ReasonCode.WEEKLY_LIMIT]
    async with SqlUnitOfWork(sessions, master_key) as uow:
        marketing = await uow.interactions.list_for_customer(ids[0], kind=InteractionKind.MARKETING)
    assert len(marketing) == 2
    assert {m.campaign for m in marketing} <= set(DEMO_CAMPAIGNS)


async def test_objections_pending_erasures_and_erased_customers(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sessions = session_factory(engine)
    plain: Callable[[], SqlUnitOfWork] = lambda: SqlUnitOfWork(sessions, master_key)  # noqa: E731
    objector = await _consenting_customer(plain, engine, now)
    leaving = await _consenting_customer(plain, engine, now)
    erased = await _consenting_customer(plain, engine, now)
    stranger = uuid.uuid4()
    request = {
        "requested_by": "customer",
        "received_at": now - timedelta(days=1),
        "due_at": now + timedelta(days=29),
        "progress": 0,
    }
    async with engine.begin() as connection:
        await connection.execute(
            insert(DsrRequestRow),
            [
                {
                    "id": uuid.uuid4(),
                    "customer_id": objector,
                    "type": "objection",
                    "status": "completed",
                    **request,
                },
                {
                    "id": uuid.uuid4(),
                    "customer_id": leaving,
                    "type": "erasure",
                    "status": "queued",
                    **request,
                },
            ],
        )
        await connection.execute(
            update(CustomerRow).where(CustomerRow.id == erased).values(status="erased")
        )
    async with plain() as uow:
        facts = await uow.campaigns.facts([objector, leaving], "marketing_email", now, timedelta(0))
    # The objection came after the consent (granted 60 days ago): it stands.
    assert facts[objector].objected_at == now - timedelta(days=1)
    assert ReasonCode.OBJECTED in {
        r.code for r in decide(facts[objector], "email", RULES, now).reasons
    }
    assert facts[leaving].erasure_pending
    assert not facts[objector].erasure_pending

    answers = await check_audience(
        plain,
        FixedClock(now),
        RULES,
        SERVICE,
        campaign_id="spring",
        channel="email",
        customer_ids=[erased, stranger],
    )
    # An erased customer reads like an id nobody knows: like a customer without consent.
    assert [[r.code for r in a.reasons] for a in answers] == [
        [ReasonCode.NO_CONSENT],
        [ReasonCode.NO_CONSENT],
    ]
    async with engine.connect() as connection:
        logged = (
            await connection.scalars(
                select(AuditEventRow.subject_id).where(
                    AuditEventRow.action == "campaign.audience_check"
                )
            )
        ).all()
    assert logged == [erased]  # their status was read; nobody's data for the stranger
