"""Grants, authorization codes and refresh tokens: the records behind issued tokens.

A grant is one token family: everything issued from one authorization (or one client
credentials request) shares its id, and revoking the grant revokes every token in it.
Only hashes of codes and refresh tokens are ever stored, so a copy of the database does not
let anyone use them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.identity import Principal, StaffRole, SubjectKind


def secret_digest(secret: str) -> str:
    """The stored form of a high-entropy bearer secret (code or refresh token): SHA-256 hex.

    A fast hash is right here: these secrets are random and long, unlike passwords.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Grant:
    """One token family: who authorised which client to do what."""

    id: UUID
    client_id: str
    subject_kind: SubjectKind
    scopes: frozenset[str]
    created_at: datetime
    subject_id: UUID | None = None
    role: StaffRole | None = None
    revoked_at: datetime | None = None
    # When the person last proved who they are (OpenID `auth_time`); a refresh keeps it.
    auth_time: datetime | None = None

    @property
    def revoked(self) -> bool:
        """Whether the family was revoked (reuse detected, logout, revocation request)."""
        return self.revoked_at is not None

    @property
    def principal(self) -> Principal | None:
        """The person behind the grant, or None for a service's own grant."""
        if self.subject_kind is SubjectKind.SERVICE or self.subject_id is None:
            return None
        return Principal(self.subject_kind, self.subject_id, self.role)


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """A one-time code, bound to its client, redirect URI and PKCE challenge."""

    code_hash: str
    grant_id: UUID
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    code_challenge: str
    code_challenge_method: str
    expires_at: datetime
    used_at: datetime | None = None
    # OpenID Connect: the client's nonce, echoed in the ID token issued for this code.
    nonce: str | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the code's short life (60 s) is over."""
        return now >= self.expires_at


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A refresh token. Rotated on use: a second use of the same one is a theft signal."""

    token_hash: str
    grant_id: UUID
    client_id: str
    scopes: frozenset[str]
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the refresh token outlived its lifetime."""
        return now >= self.expires_at


def holder_may_refresh(grant: Grant, holder: Principal | None) -> bool:
    """Whether the person behind `grant` may still refresh it: their account still exists
    and is usable (not disabled, not erased) and, for staff, their role is unchanged and
    still allows every scope of the grant (a demoted officer loses the powers at once)."""
    principal = grant.principal
    if principal is None:
        return True  # a service's own grant: it has no refresh token
    if holder is None or holder.kind is not principal.kind or holder.role != principal.role:
        return False
    return not holder.beyond_cap(grant.scopes)
