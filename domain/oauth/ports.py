"""Ports the sign-in and token machinery needs; `persistence` implements them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.identity import LoginAccount, OAuthClient, Principal, StaffUser
from domain.oauth.tokens import AuthorizationCode, Grant, RefreshToken
from domain.ports import AuditSink, UnitOfWorkBase
from domain.values import Email


class PasswordHasher(Protocol):
    """Password hashing that never blocks the event loop and refuses work when saturated."""

    async def hash(self, password: str) -> str:
        """A new hash of `password` with the current parameters. Raises HashingBusy."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches, compared in constant time. Raises HashingBusy."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        ...

    @property
    def dummy_hash(self) -> str:
        """A hash of no one's password, verified for unknown emails to equalise timing."""
        ...


class LoginAccounts(Protocol):
    async def find(self, email: Email) -> LoginAccount | None:
        """The staff user or customer who signs in with `email` (staff first), or None."""
        ...

    async def set_password_hash(self, principal: Principal, password_hash: str) -> None:
        """Replace the stored hash (rehash on login, password set by an operator)."""
        ...


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """Failed sign-ins counted for one key inside the current window."""

    failures: int
    window_started: datetime
    last_failure: datetime | None = None


class LoginThrottleStore(Protocol):
    async def get(self, kind: str, identifier: str) -> ThrottleState | None:
        """The state for (kind, identifier); identifiers are stored keyed-hashed only."""
        ...

    async def count_failure(
        self, kind: str, identifier: str, now: datetime, window: timedelta
    ) -> ThrottleState:
        """Count one failure atomically (concurrent failures are each counted) and return
        the new state; a window older than `window` starts afresh at `now`."""
        ...

    async def clear(self, kind: str, identifier: str) -> None:
        """Forget the failures for (kind, identifier)."""
        ...


class GrantHolders(Protocol):
    async def current(self, principal: Principal) -> Principal | None:
        """The person as they stand now (current staff role), or None when the account is
        gone, disabled or erased."""
        ...


class ConsentTicketUses(Protocol):
    async def use(self, ticket_hash: str, expires_at: datetime, now: datetime) -> bool:
        """Record that the ticket answered a consent screen; False when it already had."""
        ...


class ClientRepository(Protocol):
    async def get(self, client_id: str) -> OAuthClient | None:
        """The registered, enabled client, or None."""
        ...

    async def add(self, client: OAuthClient) -> None:
        """Register a client; raises Conflict when the id is taken."""
        ...

    async def list_all(self) -> list[OAuthClient]:
        """Every registered client, disabled ones included, by client id."""
        ...


class StaffRepository(Protocol):
    async def add(self, staff: StaffUser) -> None:
        """Store a staff user (email encrypted); raises Conflict when the email is taken."""
        ...

    async def get(self, staff_id: UUID) -> StaffUser | None:
        """The staff user, or None."""
        ...


class TokenStore(Protocol):
    async def add_grant(self, grant: Grant) -> None:
        """Store a new token family."""
        ...

    async def get_grant(self, grant_id: UUID) -> Grant | None:
        """The family, or None."""
        ...

    async def revoke_grant(self, grant_id: UUID, at: datetime) -> None:
        """Revoke the family and every token in it (idempotent)."""
        ...

    async def add_code(self, code: AuthorizationCode) -> None:
        """Store an issued authorization code (hashed)."""
        ...

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        """The code, used or not, or None."""
        ...

    async def consume_code(self, code_hash: str, at: datetime) -> bool:
        """Mark the code used, atomically; False when it was already used."""
        ...

    async def add_refresh_token(self, token: RefreshToken) -> None:
        """Store an issued refresh token (hashed)."""
        ...

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        """The refresh token, rotated or not, or None."""
        ...

    async def rotate_refresh_token(self, token_hash: str, at: datetime) -> bool:
        """Mark the token used, atomically; False when it was already used."""
        ...

    async def revoke_access_token(self, jti: str, grant_id: UUID, expires_at: datetime) -> None:
        """Deny one access token by its `jti` until it expires anyway."""
        ...

    async def is_revoked(self, grant_id: UUID, jti: str) -> bool:
        """Whether the access token's family or the token itself was revoked."""
        ...


class IdentityUnitOfWork(UnitOfWorkBase, Protocol):
    """One transaction over the identity stores and the audit log."""

    @property
    def logins(self) -> LoginAccounts: ...
    @property
    def throttle(self) -> LoginThrottleStore: ...
    @property
    def tickets(self) -> ConsentTicketUses: ...
    @property
    def holders(self) -> GrantHolders: ...
    @property
    def clients(self) -> ClientRepository: ...
    @property
    def staff(self) -> StaffRepository: ...
    @property
    def tokens(self) -> TokenStore: ...
    @property
    def audit(self) -> AuditSink: ...
