"""The `web_sessions` table and the store behind `WebSessionStore`.

A row is found by the SHA-256 digest of the browser's session token, never by the token.
Its secrets (tokens, PKCE verifier, state) are one JSON document sealed with AES-256-GCM
under a key derived from the master key for this one job, bound to the row's digest: a
sealed value copied to another row does not open. A session holds no personal data of its
own: who signed in is inside the (sealed) access token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import DateTime, LargeBinary, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from domain.retention import DataCategory, RetentionClass
from domain.web.sessions import SessionSecrets, WebSession
from persistence.base import Base, declare
from persistence.crypto import FieldCipher, MasterKey

SESSION_KEY_PURPOSE = "web-session-secrets"
OPS = declare(DataCategory.TECHNICAL, RetentionClass.OPERATIONAL)
_TABLE = "web_sessions"
_COLUMN = "secrets"


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class WebSessionRow(Base):
    __tablename__ = _TABLE

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True, info=OPS)
    app: Mapped[str] = mapped_column(String(20), info=OPS)
    # Credentials, not customer data: sealed under a key of their own, not a customer's.
    secrets: Mapped[bytes] = mapped_column(LargeBinary, info=OPS)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), info=OPS)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True, info=OPS)


class SqlWebSessionStore:
    """`WebSessionStore` over the database; each call commits on its own."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], master_key: MasterKey) -> None:
        self._sessions = sessions
        self._cipher = FieldCipher(master_key.derive(SESSION_KEY_PURPOSE))

    def _seal(self, digest: str, secrets: SessionSecrets) -> bytes:
        document = {
            "state": secrets.state,
            "verifier": secrets.verifier,
            "access_token": secrets.access_token,
            "refresh_token": secrets.refresh_token,
            "access_expires_at": secrets.access_expires_at,
            "scope": secrets.scope,
            "language": secrets.language,
            "next_path": secrets.next_path,
        }
        return self._cipher.seal(json.dumps(document), table=_TABLE, column=_COLUMN, row_id=digest)

    def _open(self, row: WebSessionRow) -> WebSession:
        text = self._cipher.open_text(
            row.secrets, table=_TABLE, column=_COLUMN, row_id=row.token_digest
        )
        document = json.loads(text)
        return WebSession(
            token_digest=row.token_digest,
            app=row.app,
            secrets=SessionSecrets(**document),
            created_at=_utc(row.created_at),
            last_seen_at=_utc(row.last_seen_at),
            expires_at=_utc(row.expires_at),
        )

    async def save(self, session: WebSession) -> None:
        """Insert or replace the session with this digest."""
        async with self._sessions() as db:
            row = await db.get(WebSessionRow, session.token_digest)
            if row is None:
                row = WebSessionRow(token_digest=session.token_digest)
                db.add(row)
            row.app = session.app
            row.secrets = self._seal(session.token_digest, session.secrets)
            row.created_at = session.created_at
            row.last_seen_at = session.last_seen_at
            row.expires_at = session.expires_at
            await db.commit()

    async def find(self, token_digest: str) -> WebSession | None:
        """The session with this digest, or None."""
        async with self._sessions() as db:
            row = await db.scalar(
                select(WebSessionRow).where(WebSessionRow.token_digest == token_digest)
            )
            return None if row is None else self._open(row)

    async def delete(self, token_digest: str) -> None:
        """Forget the session (nothing happens when it is not there)."""
        async with self._sessions() as db:
            await db.execute(
                delete(WebSessionRow).where(WebSessionRow.token_digest == token_digest)
            )
            await db.commit()

    async def delete_ended(self, before: datetime) -> int:
        """Forget every session whose absolute end is before `before`; how many."""
        async with self._sessions() as db:
            result = await db.execute(
                delete(WebSessionRow).where(WebSessionRow.expires_at < before)
            )
            await db.commit()
            return int(getattr(result, "rowcount", 0) or 0)
