"""Who stands behind a token family today: the staff member's current role, or whether the
customer still exists and has not been erased (checked at every refresh)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.customer.profile import CustomerStatus
from domain.identity import Principal, StaffRole, SubjectKind
from persistence.customer.tables import CustomerRow
from persistence.oauth.identity import StaffUserRow


class SqlGrantHolders:
    """Implements domain.oauth.ports.GrantHolders."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def current(self, principal: Principal) -> Principal | None:
        """The person as they stand now (a staff member's current role), or None when the
        account is gone, disabled or erased."""
        if principal.kind is SubjectKind.STAFF:
            staff = await self._session.get(StaffUserRow, principal.id)
            if staff is None or staff.disabled:
                return None
            return Principal(SubjectKind.STAFF, staff.id, StaffRole(staff.role))
        customer = await self._session.get(CustomerRow, principal.id)
        if customer is None or CustomerStatus(customer.status) is CustomerStatus.ERASED:
            return None
        return principal
