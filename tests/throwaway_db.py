"""Throw-away test databases, migrated once per session and made fresh again for each test.

SQLite: a migrated template file, copied for each test. PostgreSQL: cloning a database costs
over a second here (the server syncs every file), so one working copy of the migrated template
serves the whole session and is put back to its just-migrated state before each test: rows
deleted, the rows migrations seeded restored, sequences rewound. A test that changed the
schema itself (dropped a trigger, say) gets the working copy replaced by a new clone. Kept out
of conftest.py so the fixtures there read as what they provide, not how.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from persistence.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "CUSTODIAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
"""Where throw-away PostgreSQL databases are created from (trust auth, superuser)."""


def in_ci() -> bool:
    """Whether this run is CI, where a missing PostgreSQL is a failure rather than a skip."""
    return os.environ.get("CI", "").lower() == "true"


@cache
def pg_unavailable_reason() -> str | None:
    """None when the PostgreSQL server answers, else why not (asked once per session)."""

    async def probe() -> None:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {error}"
    return None


def pg_available() -> bool:
    """Whether the PostgreSQL test server answers."""
    return pg_unavailable_reason() is None


def pg_url(database: str) -> str:
    """The async SQLAlchemy URL of `database` on the test server."""
    admin = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{admin}/{database}"


def _admin(statement: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def pg_create(template: str | None = None) -> str:
    """Create a uniquely named database (a copy of `template` if given); return its name."""
    name = f"custodian_test_{uuid4().hex[:16]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def pg_drop(name: str) -> None:
    """Drop the database, disconnecting anyone still connected."""
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of the SQLite file at `path`."""
    return f"sqlite+aiosqlite:///{path}"


def sqlite_copy(template: Path, target: Path) -> Path:
    """Copy the template database file (and its WAL, should one be left) to `target`."""
    shutil.copyfile(template, target)
    wal = template.with_name(template.name + "-wal")
    if wal.exists():  # normally checkpointed away when the migrating engine closed
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    return target


_TABLES = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
)
_SEQUENCES = "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences"
# Everything a test could change in the schema besides rows: columns, indexes, constraints,
# triggers (and whether they are enabled), functions.
_SCHEMA_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, E'\n' ORDER BY item), '')) FROM (
  SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable,
                column_default)
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT format('constraint %s.%s %s', conrelid::regclass, conname,
                          pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT format('trigger %s.%s %s %s', tgrelid::regclass, tgname, tgenabled, tgfoid)
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT format('function %s %s', oid::regprocedure, md5(prosrc))
    FROM pg_proc WHERE pronamespace = 'public'::regnamespace
) AS schema_items(item)
"""


def _connect(name: str) -> Any:
    return asyncpg.connect(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")


@dataclass
class PgSessionDatabase:
    """A migrated PostgreSQL database reused by every test of the session, reset in between."""

    template: str
    name: str = ""
    fingerprint: str = ""
    tables: list[str] = field(default_factory=list)
    seeded: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    sequences: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The async SQLAlchemy URL of the working database."""
        return pg_url(self.name)

    @classmethod
    def create(cls) -> PgSessionDatabase:
        """Migrate a template, remember what the migrations left in it, and clone it."""
        database = cls(template=pg_create())
        asyncio.run(upgrade(pg_url(database.template)))
        asyncio.run(database._snapshot())
        database.name = pg_create(template=database.template)
        return database

    def fresh_url(self) -> str:
        """Put the working database back to its just-migrated state (closing every other
        connection to it) and return its URL; replace it when its schema was changed."""
        if not asyncio.run(self._reset()):
            pg_drop(self.name)
            self.name = pg_create(template=self.template)
        return self.url

    def drop(self) -> None:
        """Drop the working database and the template."""
        pg_drop(self.name)
        pg_drop(self.template)

    async def _snapshot(self) -> None:
        connection = await _connect(self.template)
        try:
            self.fingerprint = await connection.fetchval(_SCHEMA_FINGERPRINT)
            self.tables = [r[0] for r in await connection.fetch(_TABLES)]
            for table in self.tables:
                rows = await connection.fetch(f'SELECT * FROM "{table}"')
                if rows:
                    self.seeded[table] = [tuple(row) for row in rows]
            self.sequences = [(r[0], r[1]) for r in await connection.fetch(_SEQUENCES)]
        finally:
            await connection.close()

    async def _reset(self) -> bool:
        connection = await _connect(self.name)
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if await connection.fetchval(_SCHEMA_FINGERPRINT) != self.fingerprint:
                return False
            async with connection.transaction():
                # Replica mode skips triggers, foreign-key checks included: tables can be
                # emptied in any order, and append-only tables (the audit log) emptied at all.
                await connection.execute("SET LOCAL session_replication_role = replica")
                for table in self.tables:
                    await connection.execute(f'DELETE FROM "{table}"')
                for table, rows in self.seeded.items():
                    await connection.copy_records_to_table(table, records=rows)
                for sequence, last_value in self.sequences:
                    await connection.execute(
                        "SELECT setval($1::regclass, coalesce($2::bigint, seqstart),"
                        " $2 IS NOT NULL) FROM pg_sequence WHERE seqrelid = $1::regclass",
                        sequence,
                        last_value,
                    )
            return True
        finally:
            await connection.close()
