"""Access grants (break-glass) in `access_grants`; never commits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, Index, String, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory, RetentionClass
from domain.support.grants import AccessGrant
from persistence.base import Base, declare
from persistence.oauth.identity import StaffUserRow, utc

_EVIDENCE = declare(DataCategory.EVIDENCE, RetentionClass.EVIDENCE)
_IDS = declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)
_TS = DateTime(timezone=True)


class AccessGrantRow(Base):
    """An officer's approval for one agent to read one held customer, for a ticket, until."""

    __tablename__ = "access_grants"
    __table_args__ = (Index(None, "customer_id", "staff_id"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, info=_IDS)
    customer_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("customers.id"), info=_IDS)
    staff_id: Mapped[UUID] = mapped_column(Uuid, info=_IDS)
    ticket: Mapped[str] = mapped_column(String(32), info=_EVIDENCE)
    granted_by: Mapped[UUID] = mapped_column(Uuid, info=_IDS)
    granted_at: Mapped[datetime] = mapped_column(_TS, info=_EVIDENCE)
    expires_at: Mapped[datetime] = mapped_column(_TS, info=_EVIDENCE)


def _grant(row: AccessGrantRow) -> AccessGrant:
    return AccessGrant(
        id=row.id,
        customer_id=row.customer_id,
        staff_id=row.staff_id,
        ticket=row.ticket,
        granted_by=row.granted_by,
        granted_at=utc(row.granted_at),
        expires_at=utc(row.expires_at),
    )


class SqlAccessGrants:
    """Implements domain.support.grants.AccessGrants."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, grant: AccessGrant) -> None:
        """Store a grant."""
        self._session.add(
            AccessGrantRow(
                id=grant.id,
                customer_id=grant.customer_id,
                staff_id=grant.staff_id,
                ticket=grant.ticket,
                granted_by=grant.granted_by,
                granted_at=grant.granted_at,
                expires_at=grant.expires_at,
            )
        )
        await self._session.flush()

    async def active(
        self, customer_id: UUID, staff_id: UUID, ticket: str, now: datetime
    ) -> AccessGrant | None:
        """The running grant for this agent, customer and ticket, if any."""
        row = await self._session.scalar(
            select(AccessGrantRow)
            .where(
                AccessGrantRow.customer_id == customer_id,
                AccessGrantRow.staff_id == staff_id,
                AccessGrantRow.ticket == ticket,
                AccessGrantRow.granted_at <= now,
                AccessGrantRow.expires_at > now,
            )
            .limit(1)
        )
        return _grant(row) if row else None

    async def all_active(self, now: datetime) -> list[AccessGrant]:
        """Every running grant, soonest to expire first."""
        rows = await self._session.scalars(
            select(AccessGrantRow)
            .where(AccessGrantRow.expires_at > now)
            .order_by(AccessGrantRow.expires_at, AccessGrantRow.id)
            .limit(500)
        )
        return [_grant(row) for row in rows]

    async def staff_exists(self, staff_id: UUID) -> bool:
        """Whether `staff_id` is a staff user."""
        return await self._session.get(StaffUserRow, staff_id) is not None
