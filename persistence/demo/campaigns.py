"""Demo marketing history, so the contact policy has something to say about demo customers.

For the first MARKETING_CUSTOMERS demo customers (enough to see every case; each contact is
its own transaction, so seeding every customer of a large demo would slow `custodian demo`
down), through the real use cases (a consent grant with its receipt; contacts recorded by the
`campaign-service` client under the policy, each with its interaction and access-log event):
- every 4th demo customer, starting with the first, granted email marketing 40 days ago and
  got two campaign emails this week: capped by the weekly limit until the older one is 7
  days old;
- the next one granted it and got one email 3 days ago (one slot left this week);
- the next one granted it and got none (contactable);
- the fourth never granted it (not contactable: no consent).
Idempotent: a rerun finds the same consent and replays the same contact keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.audit.events import Actor, ActorType
from domain.campaigns.policy import ContactRules
from domain.campaigns.record_contact import ContactToRecord, NotContactable, record_contact
from domain.consent.change import change_consent
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.uow import SqlUnitOfWork

DEMO_CAMPAIGNS = ("spring-savings", "card-upgrade", "loyalty-week")
CAMPAIGN_CLIENT = "campaign-service"
MARKETING_CUSTOMERS = 40
"""How many demo customers (from the first) get a marketing history."""
_SERVICE = Actor(ActorType.SERVICE, CAMPAIGN_CLIENT, CAMPAIGN_CLIENT)
# Days ago of each contact, by the customer's place in the cycle of four.
_CONTACT_DAYS: dict[int, tuple[float, ...]] = {0: (5.0, 1.0), 1: (3.0,), 2: ()}


@dataclass(frozen=True, slots=True)
class DemoMarketing:
    """What the seeding did."""

    consents: int
    contacts: int
    capped_ids: frozenset[UUID]
    """The customers capped by the weekly limit now."""


class _At:
    def __init__(self, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


async def seed_demo_marketing(
    engine: AsyncEngine,
    master_key: MasterKey,
    customer_ids: Sequence[UUID],
    *,
    now: datetime | None = None,
) -> DemoMarketing:
    """Grant email marketing and record campaign contacts for the demo customers (see the
    module docstring); returns the counts of consents, contacts and capped customers."""
    moment = now or datetime.now(UTC)
    sessions = session_factory(engine)
    rules = ContactRules()
    consents = contacts = 0
    capped: set[UUID] = set()
    async with SqlUnitOfWork(sessions, master_key) as reader:
        notices = {n.purpose: n.notice_version for n in await reader.consents.notices()}
    for index, customer_id in enumerate(customer_ids[:MARKETING_CUSTOMERS]):
        days = _CONTACT_DAYS.get(index % 4)
        if days is None:
            continue
        unit = _units(sessions, master_key, moment - timedelta(days=40))()
        change = await change_consent(
            unit,
            customer_id,
            "marketing_email",
            granted=True,
            notice_version=notices["marketing_email"],
            actor=Actor(ActorType.CUSTOMER, str(customer_id), "demo-app"),
        )
        consents += int(change.created)
        for number, ago in enumerate(days):
            sent = moment - timedelta(days=ago)
            campaign = DEMO_CAMPAIGNS[(index + number) % len(DEMO_CAMPAIGNS)]
            ask = ContactToRecord(campaign, customer_id, "email", f"demo-{customer_id}-{number}")
            try:
                recorded = await record_contact(
                    _units(sessions, master_key, sent), _At(sent), rules, _SERVICE, ask
                )
            except NotContactable:
                # The generated history may hold a recent complaint: the policy says no.
                break
            contacts += int(not recorded.replayed)
        else:
            if len(days) >= rules.weekly_limit:
                capped.add(customer_id)
    return DemoMarketing(consents, contacts, frozenset(capped))


def _units(
    sessions: async_sessionmaker[AsyncSession], master_key: MasterKey, at: datetime
) -> Callable[[], SqlUnitOfWork]:
    def unit() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, master_key, _At(at))

    return unit
