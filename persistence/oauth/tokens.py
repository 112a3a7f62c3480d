"""Tables and store for token families (grants), authorization codes, refresh tokens and
revoked access tokens. Codes and refresh tokens are stored as SHA-256 digests only."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, String, Text, Uuid, exists, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.identity import StaffRole, SubjectKind, format_scopes, parse_scopes
from domain.oauth.tokens import AuthorizationCode, Grant, RefreshToken
from domain.retention import DataCategory, RetentionClass
from persistence.base import Base, declare
from persistence.oauth.identity import IDS, OPS, utc

SUBJECT = declare(DataCategory.IDENTIFIER, RetentionClass.EVIDENCE)


class GrantRow(Base):
    __tablename__ = "oauth_grants"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, info=IDS)
    client_id: Mapped[str] = mapped_column(String(100), info=IDS)
    subject_kind: Mapped[str] = mapped_column(String(20), info=OPS)
    subject_id: Mapped[UUID | None] = mapped_column(Uuid, index=True, info=SUBJECT)
    role: Mapped[str | None] = mapped_column(String(40), info=OPS)
    scopes: Mapped[str] = mapped_column(Text, info=OPS)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), info=OPS)
    # When the person signed in for this family (the access tokens' `auth_time`).
    auth_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), info=OPS)


class AuthorizationCodeRow(Base):
    __tablename__ = "oauth_authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True, info=OPS)
    grant_id: Mapped[UUID] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True, info=IDS
    )
    client_id: Mapped[str] = mapped_column(String(100), info=IDS)
    redirect_uri: Mapped[str] = mapped_column(Text, info=OPS)
    scopes: Mapped[str] = mapped_column(Text, info=OPS)
    code_challenge: Mapped[str] = mapped_column(String(128), info=OPS)
    code_challenge_method: Mapped[str] = mapped_column(String(10), info=OPS)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), info=OPS)
    nonce: Mapped[str | None] = mapped_column(String(255), info=OPS)


class RefreshTokenRow(Base):
    __tablename__ = "oauth_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True, info=OPS)
    grant_id: Mapped[UUID] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True, info=IDS
    )
    client_id: Mapped[str] = mapped_column(String(100), info=IDS)
    scopes: Mapped[str] = mapped_column(Text, info=OPS)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), info=OPS)


class RevokedAccessTokenRow(Base):
    __tablename__ = "oauth_revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True, info=IDS)
    grant_id: Mapped[UUID] = mapped_column(Uuid, info=IDS)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)


def _grant(row: GrantRow) -> Grant:
    return Grant(
        id=row.id,
        client_id=row.client_id,
        subject_kind=SubjectKind(row.subject_kind),
        scopes=parse_scopes(row.scopes),
        created_at=utc(row.created_at),
        subject_id=row.subject_id,
        role=StaffRole(row.role) if row.role else None,
        revoked_at=utc(row.revoked_at) if row.revoked_at else None,
        auth_time=utc(row.auth_time) if row.auth_time else None,
    )


class SqlTokenStore:
    """Implements domain.oauth.ports.TokenStore on the tables above."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_grant(self, grant: Grant) -> None:
        """Store a new token family."""
        self._session.add(
            GrantRow(
                id=grant.id,
                client_id=grant.client_id,
                subject_kind=grant.subject_kind.value,
                subject_id=grant.subject_id,
                role=grant.role.value if grant.role else None,
                scopes=format_scopes(grant.scopes),
                created_at=grant.created_at,
                revoked_at=grant.revoked_at,
                auth_time=grant.auth_time,
            )
        )
        await self._session.flush()

    async def get_grant(self, grant_id: UUID) -> Grant | None:
        """The family, or None."""
        row = await self._session.get(GrantRow, grant_id)
        return _grant(row) if row else None

    async def revoke_grant(self, grant_id: UUID, at: datetime) -> None:
        """Revoke the family: every access and refresh token in it stops working."""
        await self._session.execute(
            update(GrantRow)
            .where(GrantRow.id == grant_id, GrantRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def add_code(self, code: AuthorizationCode) -> None:
        """Store an issued code (digest only)."""
        self._session.add(
            AuthorizationCodeRow(
                code_hash=code.code_hash,
                grant_id=code.grant_id,
                client_id=code.client_id,
                redirect_uri=code.redirect_uri,
                scopes=format_scopes(code.scopes),
                code_challenge=code.code_challenge,
                code_challenge_method=code.code_challenge_method,
                expires_at=code.expires_at,
                used_at=code.used_at,
                nonce=code.nonce,
            )
        )
        await self._session.flush()

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        """The code, used or not, or None."""
        row = await self._session.get(AuthorizationCodeRow, code_hash)
        if row is None:
            return None
        return AuthorizationCode(
            code_hash=row.code_hash,
            grant_id=row.grant_id,
            client_id=row.client_id,
            redirect_uri=row.redirect_uri,
            scopes=parse_scopes(row.scopes),
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
            expires_at=utc(row.expires_at),
            used_at=utc(row.used_at) if row.used_at else None,
            nonce=row.nonce,
        )

    async def consume_code(self, code_hash: str, at: datetime) -> bool:
        """Mark the code used in one conditional UPDATE, so two racing uses cannot both win."""
        result = await self._session.execute(
            update(AuthorizationCodeRow)
            .where(
                AuthorizationCodeRow.code_hash == code_hash, AuthorizationCodeRow.used_at.is_(None)
            )
            .values(used_at=at)
        )
        return _changed(result)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        """Store an issued refresh token (digest only)."""
        self._session.add(
            RefreshTokenRow(
                token_hash=token.token_hash,
                grant_id=token.grant_id,
                client_id=token.client_id,
                scopes=format_scopes(token.scopes),
                issued_at=token.issued_at,
                expires_at=token.expires_at,
                rotated_at=token.rotated_at,
            )
        )
        await self._session.flush()

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        """The refresh token, rotated or not, or None."""
        row = await self._session.get(RefreshTokenRow, token_hash)
        if row is None:
            return None
        return RefreshToken(
            token_hash=row.token_hash,
            grant_id=row.grant_id,
            client_id=row.client_id,
            scopes=parse_scopes(row.scopes),
            issued_at=utc(row.issued_at),
            expires_at=utc(row.expires_at),
            rotated_at=utc(row.rotated_at) if row.rotated_at else None,
        )

    async def rotate_refresh_token(self, token_hash: str, at: datetime) -> bool:
        """Mark the token used in one conditional UPDATE; False when it already was."""
        result = await self._session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.token_hash == token_hash, RefreshTokenRow.rotated_at.is_(None))
            .values(rotated_at=at)
        )
        return _changed(result)

    async def revoke_access_token(self, jti: str, grant_id: UUID, expires_at: datetime) -> None:
        """Deny one access token until it expires anyway."""
        if await self._session.get(RevokedAccessTokenRow, jti) is None:
            self._session.add(
                RevokedAccessTokenRow(jti=jti, grant_id=grant_id, expires_at=expires_at)
            )
            await self._session.flush()

    async def is_revoked(self, grant_id: UUID, jti: str) -> bool:
        """One query: is the family revoked (or unknown), or this very token?"""
        family_ok = exists().where(GrantRow.id == grant_id, GrantRow.revoked_at.is_(None))
        token_revoked = exists().where(RevokedAccessTokenRow.jti == jti)
        row = (await self._session.execute(select(family_ok, token_revoked))).one()
        return (not row[0]) or bool(row[1])


def _changed(result: object) -> bool:
    return isinstance(result, CursorResult) and result.rowcount == 1
