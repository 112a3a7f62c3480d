"""domain.dsr.ports.SignInRevoker: an erased customer can no longer sign in or use a token."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.oauth.identity import CustomerCredentialRow
from persistence.oauth.tokens import GrantRow


class SqlSignInRevoker:
    """Deletes credentials and revokes grants in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def revoke_all(self, customer_id: UUID, at: datetime) -> None:
        """Delete the customer's credentials; revoke every grant not revoked yet."""
        await self._session.execute(
            delete(CustomerCredentialRow).where(CustomerCredentialRow.customer_id == customer_id)
        )
        await self._session.execute(
            update(GrantRow)
            .where(GrantRow.subject_id == customer_id, GrantRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
