"""Demo consents: about two thirds of the demo customers allow analytics, as people do.

Each grant goes through the consent use case (signed receipt, audit event) and so joins
the analytics projection in its transaction, exactly as a customer's own grant would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.analytics.membership import ANALYTICS_PURPOSE
from domain.audit.events import Actor, ActorType
from domain.consent.change import change_consent
from persistence.crypto import MasterKey
from persistence.uow import SqlUnitOfWork

ANALYTICS_SHARE = 2 / 3
DEMO_APP = "demo-app"


def allows_analytics(customer_id: UUID) -> bool:
    """Whether the demo customer allows analytics: about ANALYTICS_SHARE of them, the same
    ones for every load (a hash of the id decides, not a random draw)."""
    return hashlib.sha256(customer_id.bytes).digest()[0] < round(256 * ANALYTICS_SHARE)


async def grant_demo_consents(
    sessions: async_sessionmaker[AsyncSession], master_key: MasterKey, customers: Sequence[UUID]
) -> int:
    """Grant analytics for the customers who allow it; returns how many were granted."""
    async with SqlUnitOfWork(sessions, master_key) as uow:
        notice = next(n for n in await uow.consents.notices() if n.purpose == ANALYTICS_PURPOSE)
    granted = 0
    for customer_id in customers:
        if not allows_analytics(customer_id):
            continue
        unit = SqlUnitOfWork(sessions, master_key)
        await change_consent(
            unit,
            customer_id,
            ANALYTICS_PURPOSE,
            granted=True,
            notice_version=notice.notice_version,
            actor=Actor(ActorType.CUSTOMER, str(customer_id), DEMO_APP),
        )
        granted += 1
    return granted
