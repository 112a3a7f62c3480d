"""domain.dsr.ports.ErasureStore: the plaintext traces crypto-shredding alone leaves."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.profile import CustomerStatus
from domain.retention import RetentionClass
from persistence.customer.tables import AccountRow, CustomerRow, ProfileRow
from persistence.keystore import DataKeyRow
from persistence.sealing import utc_out


class SqlErasureStore:
    """Works in the caller's transaction; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def forget_customer(self, customer_id: UUID) -> None:
        """Clear the email blind index and the referrer link; mark the customer erased."""
        await self._session.execute(
            update(ProfileRow).where(ProfileRow.customer_id == customer_id).values(email_index=None)
        )
        await self._session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .values(referred_by=None, status=CustomerStatus.ERASED.value)
        )

    async def account_closures(self, customer_id: UUID) -> list[datetime | None]:
        """When each account closed (None: open), read from plaintext columns."""
        closures = await self._session.scalars(
            select(AccountRow.closed_at).where(AccountRow.customer_id == customer_id)
        )
        return [None if c is None else utc_out(c) for c in closures]

    async def erased_holding(self, retention_class: RetentionClass) -> list[UUID]:
        """Erased customers whose `retention_class` data key still exists."""
        found = await self._session.scalars(
            select(CustomerRow.id)
            .join(DataKeyRow, DataKeyRow.customer_id == CustomerRow.id)
            .where(
                CustomerRow.status == CustomerStatus.ERASED.value,
                DataKeyRow.retention_class == retention_class.value,
            )
        )
        return list(found)
