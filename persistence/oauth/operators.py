"""What an operator does to clients and staff from the command line: list, disable, reset.

Disabling keeps the row (ids stay meaningful in the audit log); a disabled client is unknown
to the authorization server, a disabled staff user cannot sign in. Refresh tokens of either
stop working at once (the client is unknown / the grants are revoked); access tokens run out
within their ten minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.identity import OAuthClient, StaffUser, SubjectKind
from domain.values import Email
from persistence.crypto import MasterKey
from persistence.oauth.admin import HashPassword, default_hasher
from persistence.oauth.identity import (
    OAuthClientRow,
    SqlClientRepository,
    SqlStaffRepository,
    StaffUserRow,
)
from persistence.oauth.keys import IdentityKeys
from persistence.oauth.tokens import GrantRow


async def list_clients(session: AsyncSession) -> list[OAuthClient]:
    """Every client, disabled ones included, by client id."""
    return await SqlClientRepository(session).list_all()


async def disable_client(session: AsyncSession, client_id: str) -> bool:
    """Disable the client and revoke every grant it holds; False when there is no such
    client. Disabling twice is harmless."""
    now = datetime.now(UTC)
    found = await session.get(OAuthClientRow, client_id)
    if found is None:
        return False
    if found.disabled_at is None:
        found.disabled_at = now
    await session.execute(
        update(GrantRow)
        .where(GrantRow.client_id == client_id, GrantRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.flush()
    return True


async def list_staff(session: AsyncSession, master_key: MasterKey) -> list[StaffUser]:
    """Every staff user (emails opened), oldest first."""
    repo = SqlStaffRepository(session, IdentityKeys(master_key))
    rows = await session.scalars(select(StaffUserRow).order_by(StaffUserRow.created_at))
    found = []
    for row in rows:
        staff = await repo.get(row.id)
        if staff is not None:
            found.append(staff)
    return found


async def _staff_row(session: AsyncSession, master_key: MasterKey, email: str) -> StaffUserRow:
    row = await SqlStaffRepository(session, IdentityKeys(master_key)).find_row(Email(email))
    if row is None:
        raise LookupError(f"no staff user with the email {email}")
    return row


async def disable_staff(session: AsyncSession, master_key: MasterKey, email: str) -> None:
    """Stop the staff user signing in and revoke their grants; LookupError if unknown,
    ValueError (from Email) if `email` is not an email address."""
    row = await _staff_row(session, master_key, email)
    row.disabled = True
    await session.execute(
        update(GrantRow)
        .where(
            GrantRow.subject_kind == SubjectKind.STAFF.value,
            GrantRow.subject_id == row.id,
            GrantRow.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    await session.flush()


async def reset_staff_password(
    session: AsyncSession,
    master_key: MasterKey,
    email: str,
    password: str,
    hash_password: HashPassword | None = None,
) -> None:
    """Give the staff user a new password (argon2id); LookupError if unknown. Their current
    grants are left alone: revoke them with `disable` if the old password leaked."""
    row = await _staff_row(session, master_key, email)
    row.password_hash = (hash_password or default_hasher())(password)
    await session.flush()
