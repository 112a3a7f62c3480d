"""The web sessions' store: tokens sealed and bound to their row, found only by the digest
of the browser's token, swept once past their end; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import IntegrityError
from domain.web.sessions import SessionSecrets, WebSession
from persistence.crypto import MasterKey
from persistence.database import session_factory
from persistence.web.sessions import SqlWebSessionStore, WebSessionRow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCESS = "eyJhbGciOiJFUzI1NiJ9.access-token-canary"
REFRESH = "refresh-token-canary"


def _session(digest: str, *, ends: datetime = NOW + timedelta(hours=12)) -> WebSession:
    return WebSession(
        token_digest=digest,
        app="portal",
        secrets=SessionSecrets(access_token=ACCESS, refresh_token=REFRESH, scope="profile:read"),
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=ends,
    )


async def test_tokens_are_sealed_and_come_back(engine: AsyncEngine, master_key: MasterKey) -> None:
    store = SqlWebSessionStore(session_factory(engine), master_key)
    await store.save(_session("a" * 64))
    found = await store.find("a" * 64)
    assert found is not None
    assert found.secrets.access_token == ACCESS
    assert found.secrets.refresh_token == REFRESH
    assert found.expires_at == NOW + timedelta(hours=12)
    async with engine.connect() as connection:
        raw = (await connection.execute(text("SELECT secrets FROM web_sessions"))).scalar_one()
    assert b"canary" not in bytes(raw)
    assert ACCESS not in repr(found)
    assert await store.find("b" * 64) is None


async def test_a_sealed_value_moved_to_another_row_does_not_open(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    store = SqlWebSessionStore(session_factory(engine), master_key)
    await store.save(_session("a" * 64))
    await store.save(_session("b" * 64))
    async with session_factory(engine)() as db:
        row = await db.get(WebSessionRow, "a" * 64)
        assert row is not None
        await db.execute(
            update(WebSessionRow)
            .where(WebSessionRow.token_digest == "b" * 64)
            .values(secrets=row.secrets)
        )
        await db.commit()
    with pytest.raises(IntegrityError):
        await store.find("b" * 64)


async def test_ended_sessions_are_swept_and_deleted_ones_gone(
    engine: AsyncEngine, master_key: MasterKey
) -> None:
    store = SqlWebSessionStore(session_factory(engine), master_key)
    await store.save(_session("a" * 64, ends=NOW - timedelta(seconds=1)))
    await store.save(_session("b" * 64))
    assert await store.delete_ended(NOW) == 1
    assert await store.find("a" * 64) is None
    await store.delete("b" * 64)
    assert await store.find("b" * 64) is None
