"""PostgreSQL least privilege: the application's role can do its work but cannot change or
remove audit rows, drop or disable the append-only triggers, or change the schema."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from throwaway_db import in_ci, pg_create, pg_drop, pg_unavailable_reason, pg_url

from api.settings import ConfigError, load_settings
from domain.audit.events import Actor, ActorType, AuditRecord
from persistence.app_role import RoleConfigError, app_role_of, grant_app_role
from persistence.audit.sink import SqlAuditSink, verify_log
from persistence.database import make_engine
from persistence.migrate import upgrade

pytestmark = pytest.mark.postgres
CUSTODIAN = str(Path(sys.executable).parent / "custodian")


def require_postgres() -> None:
    """Skip (fail under CI=true) when PostgreSQL is unreachable, as the shared fixtures do."""
    reason = pg_unavailable_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL is required)")
        pytest.skip(reason)


@pytest.fixture
def owner_url() -> Iterator[str]:
    """A migrated database of its own, owned by the test server's admin role."""
    require_postgres()
    name = pg_create()
    try:
        url = pg_url(name)
        asyncio.run(upgrade(url))
        yield url
    finally:
        pg_drop(name)


@pytest.fixture
async def app_engine(owner_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine connected as the application's role, set up as `custodian migrate` does."""
    role = f"custodian_app_{secrets.token_hex(4)}"
    app_url = make_url(owner_url).set(username=role, password=secrets.token_urlsafe(12))
    assert await grant_app_role(owner_url, app_url.render_as_string(hide_password=False)) == role
    assert await grant_app_role(owner_url, app_url.render_as_string(hide_password=False)) == role
    engine = make_engine(app_url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        await engine.dispose()
        owner = make_engine(owner_url)
        async with owner.begin() as connection:
            await connection.execute(text(f'DROP OWNED BY "{role}"'))
            await connection.execute(text(f'DROP ROLE "{role}"'))
        await owner.dispose()


async def _append(engine: AsyncEngine, count: int) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    for n in range(count):
        async with maker() as session, session.begin():
            record = AuditRecord(
                Actor(ActorType.CUSTOMER, f"customer-{n}", "web"), "profile.read", "profile"
            )
            await SqlAuditSink(session).append(record)


async def _refused(engine: AsyncEngine, statement: str) -> str:
    with pytest.raises(DBAPIError) as refused:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    message: str = str(refused.value.orig)
    return message


async def test_the_app_role_appends_and_reads_audit_events(app_engine: AsyncEngine) -> None:
    await _append(app_engine, 3)
    async with app_engine.connect() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM audit_events"))
        await connection.execute(text("SELECT count(*) FROM customers"))
    assert count == 3
    assert (await verify_log(app_engine)).intact


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
        "TRUNCATE audit_events",
        "DELETE FROM audit_checkpoints",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "ALTER TABLE audit_events ADD COLUMN note text",
        "DROP TABLE audit_events",
        "CREATE TABLE shadow (id int)",
        "UPDATE alembic_version SET version_num = 'x'",
    ],
)
async def test_the_app_role_cannot_rewrite_history_or_the_schema(
    app_engine: AsyncEngine, statement: str
) -> None:
    await _append(app_engine, 2)
    message = await _refused(app_engine, statement)
    assert "permission denied" in message or "must be owner" in message, message
    assert (await verify_log(app_engine)).intact


def test_only_a_separate_plain_role_is_set_up() -> None:
    owner = "postgresql+asyncpg://postgres@127.0.0.1/db"
    assert app_role_of(owner, owner) is None
    assert app_role_of(owner, "sqlite+aiosqlite:///x.db") is None
    found: Any = app_role_of(owner, "postgresql+asyncpg://app:s3cret@127.0.0.1/db")
    assert found == ("app", "s3cret")
    with pytest.raises(RoleConfigError):
        app_role_of(owner, 'postgresql+asyncpg://a"b@127.0.0.1/db')


@pytest.mark.slow
def test_custodian_migrate_sets_up_the_app_role(owner_url: str, tmp_path: Path) -> None:
    role = f"custodian_app_{secrets.token_hex(4)}"
    app_url = make_url(owner_url).set(username=role, password="app-password-1")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")},
        "CUSTODIAN_DATA_DIR": str(tmp_path),
        "CUSTODIAN_MIGRATION_DATABASE_URL": owner_url,
        "CUSTODIAN_DATABASE_URL": app_url.render_as_string(hide_password=False),
    }
    try:
        result = subprocess.run(
            [CUSTODIAN, "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert f"application role {role}" in result.stdout
        assert "app-password-1" not in result.stdout + result.stderr

        async def refused() -> str:
            engine = make_engine(app_url.render_as_string(hide_password=False))
            try:
                return await _refused(engine, "TRUNCATE audit_events")
            finally:
                await engine.dispose()

        assert "permission denied" in asyncio.run(refused())
    finally:

        async def drop() -> None:
            owner = make_engine(owner_url)
            async with owner.begin() as connection:
                await connection.execute(text(f'DROP OWNED BY "{role}"'))
                await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            await owner.dispose()

        asyncio.run(drop())


def test_a_bad_migration_url_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="CUSTODIAN_MIGRATION_DATABASE_URL"):
        load_settings(
            {
                "CUSTODIAN_MASTER_KEY": "A" * 43 + "=",
                "CUSTODIAN_MIGRATION_DATABASE_URL": "mysql://x",
            }
        )
