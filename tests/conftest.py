"""Shared fixtures: a fresh, migrated database for each test, on SQLite and on PostgreSQL.

Each engine's schema is migrated once per session; every test then starts from that state
(SQLite: a copy of the migrated file; PostgreSQL: one session database emptied back to its
just-migrated rows, see tests/throwaway_db.py), so tests are isolated without paying for the
migrations each time. PostgreSQL tests skip with the reason when the server is unreachable,
except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from oauth_harness import World, running_world
from sqlalchemy.ext.asyncio import AsyncEngine
from throwaway_db import (
    PgSessionDatabase,
    in_ci,
    pg_create,
    pg_drop,
    pg_unavailable_reason,
    pg_url,
    sqlite_copy,
    sqlite_url,
)

from persistence.crypto import MasterKey
from persistence.database import make_engine, session_factory
from persistence.migrate import upgrade
from persistence.uow import SqlUnitOfWork

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def require_postgres() -> None:
    """Skip the test (fail it in CI) when PostgreSQL is unreachable."""
    reason = pg_unavailable_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL is required)")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, to be copied, never used directly."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    asyncio.run(upgrade(sqlite_url(path)))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PgSessionDatabase]:
    """The session's PostgreSQL database, migrated to head; `db_url` resets it for each test."""
    require_postgres()
    database = PgSessionDatabase.create()
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(params=ENGINES)
def db_kind(request: pytest.FixtureRequest) -> str:
    """Which engine this test instance runs on: "sqlite" or "postgresql"."""
    kind: str = request.param
    if kind == "postgresql":
        require_postgres()
    return kind


@pytest.fixture
def blank_db_url(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty, never-migrated database private to the test (for migration tests)."""
    if db_kind == "sqlite":
        yield sqlite_url(tmp_path / "blank.sqlite")
        return
    name = pg_create()
    try:
        yield pg_url(name)
    finally:
        pg_drop(name)


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An async SQLAlchemy URL of a database migrated to head, holding only what the
    migrations put there, private to the test (no other test runs while it does)."""
    if db_kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        return sqlite_url(sqlite_copy(template, tmp_path / "test.sqlite"))
    database: PgSessionDatabase = request.getfixturevalue("postgres_database")
    return database.fresh_url()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's database, disposed afterwards."""
    created = make_engine(db_url)
    try:
        yield created
    finally:
        await created.dispose()


@pytest.fixture
def master_key() -> MasterKey:
    """A fresh random master key for the test."""
    return MasterKey.generate()


@pytest.fixture
def uow_factory(engine: AsyncEngine, master_key: MasterKey) -> Callable[[], SqlUnitOfWork]:
    """Makes a new unit of work on the test's database each time it is called."""
    sessions = session_factory(engine)
    return lambda: SqlUnitOfWork(sessions, master_key)


@pytest.fixture
async def world(
    db_url: str, engine: AsyncEngine, master_key: MasterKey, tmp_path: Path
) -> AsyncIterator[World]:
    """The real application on the test's database, served in-process, with the demo
    clients registered and a clock the test moves by hand."""
    async with running_world(db_url, engine, master_key, tmp_path) as created:
        yield created
